// Classification by angle: accuracy of an embedder + distilled references per level, plus the
// class-mean and 1-NN baselines on the same embedder, printed as JSON.
import { type Dataset, take } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/load.js";
import { loadEmbedder } from "../src/eval/embedder.js";
import { evaluateByAngle, evaluateSourceByAngle } from "../src/eval/evaluate-embedder.js";
import { onnxEmbedSource } from "../src/eval/onnx-embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { readReferenceSet } from "../src/references/reference-set.js";
import { writeJsonAtomic } from "../src/util/atomic-write.js";
import { scriptFlags } from "../src/util/cli.js";

const flags = scriptFlags("evaluate");
const fail: (message: string) => never = flags.fail;

const USAGE =
  "usage: evaluate.ts --embedder CKPT|MODEL.onnx [--references FILE] [--data mnist] [--limit N] [--test-limit N] [--no-baselines] [--batch 256] [--out FILE]";

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

function parseFlags() {
  return flags.parse({
    embedder: { type: "string" },
    references: { type: "string" },
    data: { type: "string", default: "mnist" },
    limit: { type: "string" },
    "test-limit": { type: "string" },
    "no-baselines": { type: "boolean", default: false },
    batch: { type: "string", default: "256" },
    out: { type: "string" },
    help: { type: "boolean", default: false },
  });
}

async function main() {
  const values = parseFlags();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.embedder) fail("--embedder CKPT is required");
  const limit = positiveInt("limit", values.limit);
  const testLimit = positiveInt("test-limit", values["test-limit"]);
  const batch = positiveInt("batch", values.batch);
  const baselines = !values["no-baselines"];

  if (values.embedder.endsWith(".onnx")) {
    await evaluateOnnx(values.embedder, values, baselines, limit, testLimit, batch);
    return;
  }
  let inputs: Parameters<typeof evaluateByAngle>[0];
  try {
    const embedder = await loadEmbedder(values.embedder);
    const allTest = await loadDataset(values.data, "test");
    const test = testLimit ? take(allTest, testLimit) : allTest;
    const references = values.references ? await readReferenceSet(values.references) : undefined;
    let train: Dataset | undefined;
    if (baselines) {
      const allTrain = await loadDataset(values.data, "train");
      train = limit ? take(allTrain, limit) : allTrain;
    }
    inputs = { embedder, test, references, train, batch };
  } catch (error) {
    fail((error as Error).message);
  }
  await initBackend();
  const started = performance.now();
  let result: ReturnType<typeof evaluateByAngle>;
  try {
    result = evaluateByAngle(inputs);
  } catch (error) {
    fail((error as Error).message);
  }
  const report = {
    embedder: values.embedder,
    model: inputs.embedder.spec.name,
    embedderEpochs: inputs.embedder.epoch,
    references: values.references
      ? { file: values.references, version: inputs.references?.version }
      : null,
    data: values.data,
    ...result,
    seconds: (performance.now() - started) / 1000,
  };
  if (values.out) await writeJsonAtomic(values.out, report);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

/** --embedder FILE.onnx: the exported embedder on onnxruntime (same report, no epochs). */
async function evaluateOnnx(
  path: string,
  values: { data: string; references?: string; out?: string },
  baselines: boolean,
  limit: number | undefined,
  testLimit: number | undefined,
  batch: number | undefined,
) {
  let source: Awaited<ReturnType<typeof onnxEmbedSource>>;
  let test: Dataset;
  let references: Awaited<ReturnType<typeof readReferenceSet>> | undefined;
  let train: Dataset | undefined;
  try {
    source = await onnxEmbedSource(path, { batch });
    const allTest = await loadDataset(values.data, "test");
    test = testLimit ? take(allTest, testLimit) : allTest;
    references = values.references ? await readReferenceSet(values.references) : undefined;
    if (baselines) {
      const allTrain = await loadDataset(values.data, "train");
      train = limit ? take(allTrain, limit) : allTrain;
    }
  } catch (error) {
    fail((error as Error).message);
  }
  const started = performance.now();
  let result: Awaited<ReturnType<typeof evaluateSourceByAngle>>;
  try {
    result = await evaluateSourceByAngle(source, { test, references, train });
  } catch (error) {
    fail((error as Error).message);
  } finally {
    await source.close();
  }
  const report = {
    embedder: path,
    model: source.name,
    embedderEpochs: null,
    references: values.references
      ? { file: values.references, version: references?.version }
      : null,
    data: values.data,
    ...result,
    seconds: (performance.now() - started) / 1000,
  };
  if (values.out) await writeJsonAtomic(values.out, report);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`evaluate: ${error.message.split("\n")[0]}\n`);
  process.exit(1);
});
