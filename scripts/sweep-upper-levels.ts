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
import { scriptFlags } from "../src/util/cli.js";

const flags = scriptFlags("sweep-upper-levels");
const fail: (message: string) => never = flags.fail;

const USAGE = `usage: sweep-upper-levels.ts --references FILE --embedder CKPT [--from-level 2]
  [--fan-ins 5,5,4] [--levels 5] [--workers 2] --variant NAME='{"lambda":100,"lr":0.11}' ...
  (a variant is JSON overriding the cpu preset's DistillConfig: lambda, lr, iterations, width,
  init, repulsion, lambdaScope, momentum, seed)`;

function parseVariant(
  name: string,
  json: string,
): { name: string; overrides: Partial<DistillConfig> } {
  try {
    return { name, overrides: JSON.parse(json) as Partial<DistillConfig> };
  } catch {
    return fail(`--variant ${name}: not JSON`);
  }
}

async function main() {
  const values = flags.parse({
    references: { type: "string" },
    embedder: { type: "string" },
    "from-level": { type: "string", default: "2" },
    "fan-ins": { type: "string", default: "5,5,4" },
    levels: { type: "string", default: "5" },
    workers: { type: "string", default: "2" },
    variant: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.references || !values.embedder) fail("--references and --embedder are required");
  const fromLevel = flags.number("from-level", values["from-level"], true, 1) as number;
  const workers = flags.number("workers", values.workers, true, 0) as number;
  const levels = flags.number("levels", values.levels, true, 1) as number;
  const fanIns = values["fan-ins"]
    .split(",")
    .map((f) => flags.number("fan-ins", f, true, 1) as number);
  const variants = (values.variant as string[]).map((v) => {
    const at = v.indexOf("=");
    if (at < 1) fail(`--variant must be NAME=JSON, got "${v}"`);
    return parseVariant(v.slice(0, at), v.slice(at + 1));
  });
  if (variants.length === 0) fail("give at least one --variant NAME=JSON");

  await initBackend("wasm", { quiet: true });
  const set = await readReferenceSet(values.references);
  const source = referenceLevel(set, fromLevel);
  const embedder = await loadEmbedder(values.embedder);
  const test = await loadDataset("mnist", "test");
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
    const report = evaluateByAngle({
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

main().catch((error: Error) => {
  process.stderr.write(`sweep-upper-levels: ${error.message.split("\n")[0]}\n`);
  process.exit(1);
});
