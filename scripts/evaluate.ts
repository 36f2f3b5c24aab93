// Classification by angle: accuracy of an embedder + distilled references per level, plus the
// class-mean and 1-NN baselines on the same embedder, printed as JSON.
import { type Dataset, take } from "../src/data/dataset.js";
import { FOLDER_FLAGS, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset } from "../src/data/load.js";
import { type Embedder, loadEmbedder } from "../src/eval/embedder.js";
import { evaluateByAngle, evaluateSourceByAngle } from "../src/eval/evaluate-embedder.js";
import { checkpointEmbedSource, onnxEmbedSource } from "../src/eval/onnx-embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { readReferenceSet } from "../src/references/reference-set.js";
import { writeJsonAtomic } from "../src/util/atomic-write.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { boolean, choice, int, readFlags, string } from "../src/util/flags.js";
import { checkWritableOutput } from "../src/util/output-check.js";
import { ProgressWriter } from "../src/util/progress-event.js";

const FLAGS = {
  embedder: string("the embedder: a trainer checkpoint, or an exported MODEL.onnx", {
    required: true,
    arg: "FILE",
  }),
  references: string("the distilled reference set to score, level by level", { arg: "FILE" }),
  data: string("mnist, fashion, cifar10, idx:DIR or folder:DIR", { default: "mnist" }),
  limit: int("baselines: use the first N training images", { min: 1 }),
  "test-limit": int("use the first N test images", { min: 1 }),
  "no-baselines": boolean("skip the class-mean and 1-NN baselines"),
  batch: int("embedding batch size", { default: 256, min: 1 }),
  engine: choice(
    ["ort", "tfjs"],
    "what embeds a checkpoint: onnxruntime (exported in memory) or tfjs",
    {
      default: "ort",
    },
  ),
  threads: int("ort: onnxruntime intra-op threads", { default: 2, min: 1 }),
  out: string("also write the JSON report here", { arg: "FILE" }),
  progress: choice(["json", "none"], "json: one event line per update on stderr, for a parent", {
    default: "none",
  }),
  ...FOLDER_FLAGS,
};

/** The images embedded so far as progress events (--progress json), else nothing. */
function progressOf(mode: string): ((done: number, total: number) => void) | undefined {
  if (mode !== "json") return undefined;
  const writer = new ProgressWriter({ stage: "evaluate", unit: "images" });
  return (done, total) => writer.update(done, total);
}

const SCRIPT = {
  usage: "tsx scripts/evaluate.ts --embedder FILE [--references FILE] [flags]",
  summary:
    "Classification by angle: accuracy of an embedder + distilled references per level, and the class-mean and 1-NN baselines, as JSON.",
};

async function main() {
  const values = readFlags(SCRIPT, FLAGS);
  const { limit, batch, threads } = values;
  const testLimit = values["test-limit"];
  const baselines = !values["no-baselines"];
  if (values.out !== undefined)
    await checkWritableOutput(values.out, { flag: "out", kind: "file" });
  const onnxFile = values.embedder.endsWith(".onnx");
  if (onnxFile && values.engine === "tfjs") {
    throw new CliError(`--engine tfjs needs a trainer checkpoint; ${values.embedder} is ONNX`);
  }

  // The embedder first (a bad file fails before any data is decoded): tfjs over a checkpoint, or
  // onnxruntime over the exported file or the checkpoint exported in memory (nothing written).
  const checkpoint = onnxFile ? undefined : await input(loadEmbedder(values.embedder));
  const onTfjs = checkpoint !== undefined && values.engine === "tfjs";
  const source = onTfjs
    ? undefined
    : await input(
        checkpoint
          ? checkpointEmbedSource(checkpoint, values.embedder, { batch, threads })
          : onnxEmbedSource(values.embedder, { batch, threads }),
      );
  try {
    const folder = folderOptions(values);
    const loaded = await input(async () => {
      const allTest = await loadDataset(values.data, "test", { folder });
      const references = values.references ? await readReferenceSet(values.references) : undefined;
      let train: Dataset | undefined;
      if (baselines) {
        const allTrain = await loadDataset(values.data, "train", { folder });
        train = limit ? take(allTrain, limit) : allTrain;
      }
      return { test: testLimit ? take(allTest, testLimit) : allTest, references, train };
    });
    const inputs = { ...loaded, onProgress: progressOf(values.progress) };
    await initBackend(); // tfjs-wasm: the embedder on --engine tfjs, and the 1-NN's matmuls on either
    const started = performance.now();
    const result = await input(() =>
      source
        ? evaluateSourceByAngle(source, inputs)
        : evaluateByAngle({ ...inputs, embedder: checkpoint as Embedder, batch }),
    );
    const report = {
      embedder: values.embedder,
      model: checkpoint?.spec.name ?? source?.name,
      embedderEpochs: checkpoint?.epoch ?? null,
      engine: onTfjs ? "tfjs" : "ort",
      references: values.references
        ? { file: values.references, version: loaded.references?.version }
        : null,
      data: values.data,
      ...result,
      seconds: (performance.now() - started) / 1000,
    };
    if (values.out) await writeJsonAtomic(values.out, report);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await source?.close();
  }
}

runScript("evaluate", main);
