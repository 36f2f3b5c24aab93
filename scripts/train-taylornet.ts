// Trains a TaylorNet (mnist28 / mnist7 / cifar10, optionally with every CG ablated to a conv)
// with the engine's train(): progress, atomic checkpoint per epoch, resume, metrics JSON.
import { join } from "node:path";
import { augmentFlags, augmentFrom } from "../src/data/augment-flags.js";
import { type Dataset, take } from "../src/data/dataset.js";
import { FOLDER_FLAGS, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset, parseDatasetName } from "../src/data/load.js";
import { RESIZE_METHODS, type ResizeMethod, resizeDataset } from "../src/data/resize.js";
import { initBackend } from "../src/nn/backend.js";
import { countParams } from "../src/nn/spec.js";
import { TAYLORNET_ARCHS, taylorNetSpec } from "../src/nn/taylornet.js";
import { chooseEngine, ENGINE_FLAGS } from "../src/train/engine-flags.js";
import { train } from "../src/train/trainer.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { boolean, choice, int, number, readFlags, string } from "../src/util/flags.js";
import { abortOnSigint } from "../src/util/interrupt.js";
import { checkWritableOutput } from "../src/util/output-check.js";

const DEFAULT_DATA: Record<string, string> = {
  mnist28: "mnist",
  mnist7: "mnist7",
  cifar10: "cifar10",
};

const FLAGS = {
  arch: choice(TAYLORNET_ARCHS, "the TaylorNet", { required: true }),
  data: string("mnist, mnist7, fashion, cifar10 or idx:DIR (default: the arch's)"),
  epochs: int("epochs", { default: 5, min: 1 }),
  batch: int("batch size", { default: 128, min: 1 }),
  lr: number("learning rate", { default: 0.002, min: 0 }),
  "weight-decay": number("weight decay", { default: 0, min: 0 }),
  seed: int("seed", { default: 0, min: 0 }),
  limit: int("use the first N training images", { min: 1 }),
  "test-limit": int("use the first N test images", { min: 1 }),
  ...ENGINE_FLAGS,
  out: string("output folder (default: runs/taylornet-ARCH)", { arg: "DIR" }),
  resume: boolean("continue from the checkpoint in --out"),
  width: int("channels per layer", { default: 64, min: 1 }),
  order: int("CG order", { default: 2, min: 1, max: 4 }),
  "ablate-cg": boolean("replace every CG by a convolution (the paper's ablation)"),
  "no-batch-norm": boolean("no batch normalisation"),
  resize: choice(RESIZE_METHODS, "how images are resized to the input", { default: "area" }),
  ...augmentFlags(),
  progress: choice(
    ["bar", "lines", "json", "none"],
    "progress display (default: bar on a terminal; json: one event line per update, for a parent)",
  ),
  ...FOLDER_FLAGS,
};

const SCRIPT = {
  usage: `tsx scripts/train-taylornet.ts --arch ${TAYLORNET_ARCHS.join("|")} [flags]`,
  summary:
    "Trains a TaylorNet: progress, an atomic checkpoint per epoch, resume, metrics.json in --out.",
};

/** Resizes a data set to the model's input when only the spatial size differs. */
function fitToInput(
  d: Dataset,
  [h, w, c]: [number, number, number],
  method: ResizeMethod,
): Dataset {
  if (d.channels !== c) {
    throw new CliError(`${d.name} has ${d.channels} channel(s) but the model takes ${c}`);
  }
  if (d.height === h && d.width === w) return d;
  return resizeDataset(d, h, w, method);
}

async function main() {
  const f = readFlags(SCRIPT, FLAGS);
  const resize = f.resize;
  const jitter = augmentFrom(f);
  const augment = jitter.augment !== undefined;
  const { epochs, batch: batchSize, lr, seed, width, order, limit } = f;
  const weightDecay = f["weight-decay"];
  const testLimit = f["test-limit"];
  const dataName = f.data ?? DEFAULT_DATA[f.arch];
  await input(() => parseDatasetName(dataName));
  const spec = taylorNetSpec(f.arch, {
    width,
    order,
    ablate: f["ablate-cg"],
    batchNorm: !f["no-batch-norm"],
  });
  const { engine, workers } = chooseEngine(f, { spec });
  const out = f.out ?? join("runs", `taylornet-${f.arch}${f["ablate-cg"] ? "-ablated" : ""}`);
  await checkWritableOutput(out, { flag: "out", kind: "folder" });

  await initBackend();
  let trainData: Dataset;
  let testData: Dataset;
  // Jitter acts at the source resolution (28×28 for mnist7), each batch is then resized.
  const folder = folderOptions(f);
  trainData = await input(
    loadDataset(augment && dataName === "mnist7" ? "mnist" : dataName, "train", { resize, folder }),
  );
  testData = await input(
    loadDataset(dataName, "test", { resize, folder: { ...folder, progress: null } }),
  );
  const resized = trainData.height !== spec.input[0] || trainData.width !== spec.input[1];
  const resizeUsed = resized || dataName.startsWith("mnist7") ? resize : "none";
  if (limit) trainData = take(trainData, limit);
  if (!augment) trainData = fitToInput(trainData, spec.input, resize);
  testData = fitToInput(testLimit ? take(testData, testLimit) : testData, spec.input, resize);
  const params = countParams(spec);
  process.stderr.write(
    `train-taylornet: ${spec.name}, ${params} parameters, ${trainData.count} training / ${testData.count} test images of ${trainData.name} (resize: ${resizeUsed}); engine ${engine}${engine === "ort" ? ` (${f.threads} intra-op thread(s))` : ` (${f.workers} worker(s))`} → ${out}\n`,
  );
  const interrupt = abortOnSigint(
    "train-taylornet",
    "stopping before the next step; the last whole epoch's checkpoint stays resumable",
  );
  const result = await train({
    signal: interrupt.signal,
    spec,
    train: trainData,
    test: testData,
    epochs,
    batchSize,
    lr,
    weightDecay,
    augment: jitter.augment,
    resizeBatches: augment ? resize : undefined,
    seed,
    workers,
    engine,
    outDir: out,
    resume: f.resume,
    progress: f.progress,
    extra: {
      arch: f.arch,
      data: trainData.name,
      resize: resizeUsed,
      engine,
      ...(engine === "ort" ? { workers: 1, threads: f.threads } : {}),
      augment: jitter.record,
      width,
      order,
      ablateCg: f["ablate-cg"],
      batchNorm: !f["no-batch-norm"],
      params,
      limit: limit ?? null,
      testCount: testData.count,
      command: ["tsx", "scripts/train-taylornet.ts", ...process.argv.slice(2)].join(" "),
    },
  });
  interrupt.dispose();
  if (result.interrupted) {
    process.stderr.write(
      `train-taylornet: interrupted after ${result.epochsDone} of ${epochs} epochs; run again with --resume to continue\n`,
    );
    process.exit(130);
  }
  const accuracy = result.final?.accuracy;
  process.stdout.write(
    `${JSON.stringify({ model: spec.name, params, epochs: result.epochsDone, testAccuracy: accuracy ?? null, checkpoint: result.checkpointPath, metrics: result.metricsPath ?? null })}\n`,
  );
}

runScript("train-taylornet", main);
