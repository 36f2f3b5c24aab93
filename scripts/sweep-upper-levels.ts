// A sweep over distillation settings for the upper levels only: re-distils levels L+1.. from
// level L of a reference set under each variant and scores every new level by angle, as JSON lines.
import { loadDataset } from "../src/data/load.js";
import type { DistillConfig } from "../src/distill/distill-config.js";
import { runDistillation } from "../src/distill/pipeline.js";
import { DM_DEFAULTS, dmNormalization, PRESETS } from "../src/distill/presets.js";
import { loadEmbedder } from "../src/eval/embedder.js";
import { evaluateByAngle } from "../src/eval/evaluate-embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { readReferenceSet, referenceLevel } from "../src/references/reference-set.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { boolean, int, list, readFlags, repeat, string } from "../src/util/flags.js";

const FLAGS = {
  references: string("the reference set whose level L is re-distilled from", {
    required: true,
    arg: "FILE",
  }),
  embedder: string("the embedder checkpoint that scores each new level", {
    required: true,
    arg: "CKPT",
  }),
  "from-level": int("the level distilled from", { default: 2, min: 1, arg: "L" }),
  "fan-ins": list({ kind: "int", min: 1 }, "fan-ins of the new levels", { default: [5, 5, 4] }),
  levels: int("levels of the whole hierarchy (for the λ scope)", { default: 5, min: 1 }),
  workers: int("worker threads distilling subsets", { default: 2, min: 1 }),
  "in-thread": boolean("distil in this thread instead of worker threads (debugging, tests)"),
  variant: repeat(
    "a variant: JSON overriding the cpu preset's DistillConfig (lambda, lr, iterations, width, init, repulsion, lambdaScope, momentum, seed)",
    `NAME='{"lambda":100}'`,
  ),
};

const SCRIPT = {
  usage: `tsx scripts/sweep-upper-levels.ts --references FILE --embedder CKPT --variant NAME='{"lambda":100,"lr":0.11}' ...`,
  summary:
    "Re-distils levels L+1.. from level L of a reference set under each variant and scores every new level by angle, as JSON lines.",
};

/** NAME=JSON → the variant's overrides. */
function parseVariant(text: string): { name: string; overrides: Partial<DistillConfig> } {
  const at = text.indexOf("=");
  if (at < 1) throw new CliError(`--variant must be NAME=JSON, got "${text}"`);
  const name = text.slice(0, at);
  let overrides: unknown;
  try {
    overrides = JSON.parse(text.slice(at + 1));
  } catch {
    throw new CliError(`--variant must be NAME=JSON, got "${text}" (not JSON)`);
  }
  if (!overrides || typeof overrides !== "object" || Array.isArray(overrides)) {
    throw new CliError(`--variant must be NAME=JSON, got "${text}" (not a JSON object)`);
  }
  return { name, overrides: overrides as Partial<DistillConfig> };
}

async function main() {
  const values = readFlags(SCRIPT, FLAGS);
  const { levels } = values;
  const fromLevel = values["from-level"];
  const fanIns = values["fan-ins"];
  const workers = values["in-thread"] ? 0 : values.workers;
  const variants = values.variant.map(parseVariant);
  if (variants.length === 0) throw new CliError("give at least one --variant NAME=JSON");

  await initBackend("wasm", { quiet: true });
  const set = await input(readReferenceSet(values.references));
  const source = await input(() => referenceLevel(set, fromLevel));
  const embedder = await input(loadEmbedder(values.embedder));
  const test = await input(loadDataset("mnist", "test"));
  for (const { name, overrides } of variants) {
    const config: DistillConfig = {
      fanIns,
      seed: 1,
      iterations: PRESETS.cpu.iterations,
      width: PRESETS.cpu.width,
      ...DM_DEFAULTS,
      ...dmNormalization(set.channels),
      hierarchyLevels: levels,
      ...overrides,
    };
    const started = Date.now();
    const out = await runDistillation(
      {
        name: `${set.version}-L${fromLevel}`,
        images: source.images,
        labels: source.labels,
        shape: [set.height, set.width, set.channels],
        classes: set.classes,
      },
      config,
      { workers },
    );
    const seconds = (Date.now() - started) / 1000;
    const report = await evaluateByAngle({
      embedder,
      test,
      references: {
        ...set,
        levels: out.levels.map((l) => ({ ...l, level: l.level + fromLevel })),
      },
    });
    process.stdout.write(
      `${JSON.stringify({ variant: name, overrides, seconds, lambda: out.stats.map((s) => s.lambda), accuracy: report.accuracy })}\n`,
    );
  }
}

runScript("sweep-upper-levels", main);
