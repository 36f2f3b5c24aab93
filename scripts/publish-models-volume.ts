// Publishes a checked models directory onto a volume that every replica mounts, with kubelet's atomic `..data`
// swap: each running service hot-reloads the new set whole (see docs/DEPLOY.md).
import { publishModelsVolume } from "../src/models/volume-publish.js";
import { input, runScript } from "../src/util/cli.js";
import { readFlags, string } from "../src/util/flags.js";

const FLAGS = {
  from: string("the checked models directory to publish", { required: true, arg: "DIR" }),
  to: string("the volume's mount point (every replica's models directory)", {
    required: true,
    arg: "DIR",
  }),
};

const SCRIPT = {
  usage: "tsx scripts/publish-models-volume.ts --from models --to /mnt/cgnn-models",
  summary:
    "Publishes a models directory onto a shared volume with kubelet's atomic ..data swap; a broken set is refused before the volume is touched.",
};

runScript("publish-models-volume", async () => {
  const flags = readFlags(SCRIPT, FLAGS);
  const stamp = await input(publishModelsVolume(flags.from, flags.to));
  process.stdout.write(`${JSON.stringify({ published: flags.from, to: flags.to, data: stamp })}\n`);
});
