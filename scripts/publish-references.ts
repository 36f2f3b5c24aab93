// Publishes a distilled reference set into a models directory (8-bit pixels, sheets beside it)
// and points the manifest at it: a running service swaps it in without a restart.
import { copyFile, readdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { readReferenceSet, writeReferenceSet } from "../src/references/reference-set.js";
import { checkRegistration, registerReferences } from "../src/references/register.js";
import { input, runScript } from "../src/util/cli.js";
import { int, readFlags, string } from "../src/util/flags.js";
import { checkWritableOutput } from "../src/util/output-check.js";

const FLAGS = {
  references: string("the distilled reference set (sheets beside it are copied too)", {
    required: true,
    arg: "FILE",
  }),
  "models-dir": string("the models folder whose manifest points at the set", {
    default: "models",
    arg: "DIR",
  }),
  name: string("the set's file name inside it", { default: "references.safetensors" }),
  embedder: string("the manifest's embedder model to pair the set with", { arg: "NAME" }),
  "default-level": int("the level /classify uses by default", { min: 1 }),
  evaluation: string("scripts/evaluate.ts output, recorded as the set's metrics", {
    arg: "EVAL.json",
  }),
};

const SCRIPT = {
  usage: "tsx scripts/publish-references.ts --references FILE [--models-dir models] [flags]",
  summary:
    "Publishes a distilled reference set into a models folder and points its manifest at it (a running service swaps it in).",
};

runScript("publish-references", async () => {
  const flags = readFlags(SCRIPT, FLAGS);
  const source = flags.references;
  const dir = flags["models-dir"];
  const out = join(dir, flags.name);
  await checkWritableOutput(out, { flag: "models-dir", kind: "file" });
  const set = await input(readReferenceSet(source));
  const evaluation = flags.evaluation
    ? await input(async () => JSON.parse(await readFile(flags.evaluation!, "utf8")))
    : undefined;
  const metrics = evaluation ? { evaluation } : undefined;
  const options = { embedder: flags.embedder, defaultLevel: flags["default-level"] };
  const levels = set.levels.map((l) => l.level);
  await input(checkRegistration(dir, out, levels, options));
  await writeReferenceSet(out, set);
  const stem = basename(source).replace(/\.safetensors$/, "");
  const sheets = (await readdir(dirname(source))).filter(
    (f) => f.startsWith(`${stem}.`) && /\.(png|md|json)$/.test(f),
  );
  const outStem = flags.name.replace(/\.safetensors$/, "");
  for (const sheet of sheets) {
    await copyFile(join(dirname(source), sheet), join(dir, sheet.replace(stem, outStem)));
  }
  await registerReferences(dir, out, set, {
    ...options,
    metrics,
    // The open-set thresholds the evaluation calibrated, for the levels this set has.
    minSimilarity: evaluation?.minSimilarity,
    command: `tsx scripts/publish-references.ts ${process.argv.slice(2).join(" ")}`,
  });
  process.stdout.write(`${JSON.stringify({ out, version: set.version, sheets: sheets.length })}\n`);
});
