// Publishes a distilled reference set into a models directory (8-bit pixels, sheets beside it)
// and points the manifest at it: a running service swaps it in without a restart.
import { copyFile, readdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { readReferenceSet, writeReferenceSet } from "../src/references/reference-set.js";
import { registerReferences } from "../src/references/register.js";
import { CliError, intFlag, main, parseCli } from "../src/util/cli.js";

const USAGE = `usage: tsx scripts/publish-references.ts --references FILE [--models-dir models]
  [--name references.safetensors] [--embedder NAME] [--default-level N]
  [--evaluation EVAL.json (scripts/evaluate.ts output, recorded as the set's metrics)]`;

main(async () => {
  if (process.argv.includes("--help")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const flags = parseCli(
    {
      references: { type: "string" },
      "models-dir": { type: "string", default: "models" },
      name: { type: "string", default: "references.safetensors" },
      embedder: { type: "string" },
      "default-level": { type: "string" },
      evaluation: { type: "string" },
    },
    process.argv.slice(2),
  );
  const source = flags.references;
  if (!source) throw new CliError(`--references FILE is required; ${USAGE}`);
  const dir = flags["models-dir"];
  const set = await readReferenceSet(source);
  const out = join(dir, flags.name);
  await writeReferenceSet(out, set);
  const stem = basename(source).replace(/\.safetensors$/, "");
  const sheets = (await readdir(dirname(source))).filter(
    (f) => f.startsWith(`${stem}.`) && /\.(png|md|json)$/.test(f),
  );
  const outStem = flags.name.replace(/\.safetensors$/, "");
  for (const sheet of sheets) {
    await copyFile(join(dirname(source), sheet), join(dir, sheet.replace(stem, outStem)));
  }
  const defaultLevel =
    flags["default-level"] === undefined
      ? undefined
      : intFlag(flags["default-level"], "default-level", 5, { min: 1 });
  const evaluation = flags.evaluation
    ? JSON.parse(await readFile(flags.evaluation, "utf8"))
    : undefined;
  const metrics = evaluation ? { evaluation } : undefined;
  await registerReferences(dir, out, set, {
    embedder: flags.embedder,
    defaultLevel,
    metrics,
    // The open-set thresholds the evaluation calibrated, for the levels this set has.
    minSimilarity: evaluation?.minSimilarity,
    command: `tsx scripts/publish-references.ts ${process.argv.slice(2).join(" ")}`,
  });
  process.stdout.write(`${JSON.stringify({ out, version: set.version, sheets: sheets.length })}\n`);
});
