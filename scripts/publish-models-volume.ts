// Publishes a checked models directory onto a volume that every replica mounts, with kubelet's atomic `..data`
// swap: each running service hot-reloads the new set whole (see docs/DEPLOY.md).
import { publishModelsVolume } from "../src/models/volume-publish.js";
import { CliError, main, parseCli } from "../src/util/cli.js";

const USAGE = "usage: tsx scripts/publish-models-volume.ts --from models --to /mnt/cgnn-models";

main(async () => {
  if (process.argv.includes("--help")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const flags = parseCli({ from: { type: "string" }, to: { type: "string" } });
  if (!flags.from || !flags.to) throw new CliError(`--from and --to are required; ${USAGE}`);
  const stamp = await publishModelsVolume(flags.from, flags.to);
  process.stdout.write(`${JSON.stringify({ published: flags.from, to: flags.to, data: stamp })}\n`);
});
