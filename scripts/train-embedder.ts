// Trains a ResNet18/50 embedder with a cross-entropy or ArcFace head through the engine's
// train(): progress, an atomic checkpoint per epoch, resume, and metrics.json.
import { join } from "node:path";
import { augmentFlags, augmentFrom } from "../src/data/augment-flags.js";
import { type Dataset, take } from "../src/data/dataset.js";
import { FOLDER_FLAGS, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset, parseDatasetName } from "../src/data/load.js";
import { normalizationFor } from "../src/data/normalize.js";
import { loadEmbedder } from "../src/eval/embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { type ResnetDepth, resnetEmbeddingSize, resnetSpec } from "../src/nn/resnet.js";
import { countParams } from "../src/nn/spec.js";
import type { Weights } from "../src/nn/weights.js";
import { chooseEngine, ENGINE_FLAGS } from "../src/train/engine-flags.js";
import { embedderHead } from "../src/train/heads.js";
import { train } from "../src/train/trainer.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { boolean, choice, int, number, readFlags, string } from "../src/util/flags.js";
import { abortOnSigint } from "../src/util/interrupt.js";
import { checkWritableOutput } from "../src/util/output-check.js";

const FLAGS = {
  depth: choice(["18", "50"], "ResNet depth", { default: "18" }),
  width: int("base width", { default: 16, min: 1 }),
  data: string("mnist, fashion, cifar10 or idx:DIR", { default: "mnist" }),
  epochs: int("epochs", { default: 2, min: 1 }),
  batch: int("batch size", { default: 128, min: 1 }),
  lr: number("learning rate", { default: 0.002, min: 0 }),
  optimizer: choice(["adam", "sgd"], "optimiser", { default: "adam" }),
  "weight-decay": number("weight decay", { default: 0, min: 0 }),
  ...augmentFlags(),
  seed: int("seed", { default: 0, min: 0 }),
  limit: int("use the first N training images", { min: 1 }),
  "test-limit": int("use the first N test images", { min: 1 }),
  ...ENGINE_FLAGS,
  out: string("output folder (default: runs/embedder-rDEPTH[-arcface])", { arg: "DIR" }),
  resume: boolean("continue from the checkpoint in --out"),
  loss: choice(["ce", "arcface"], "the head's loss", { default: "ce" }),
  scale: number("ArcFace scale s", { default: 64, min: 0 }),
  margin: number("ArcFace margin m in radians, below π/2", { default: 0.5, min: 0 }),
  "easy-margin": boolean("ArcFace easy margin"),
  init: string("start the model (not the head) from this embedder checkpoint of the same spec", {
    arg: "CKPT",
  }),
  progress: choice(
    ["bar", "lines", "json", "none"],
    "progress display (default: bar on a terminal; json: one event line per update, for a parent)",
  ),
  ...FOLDER_FLAGS,
};

const SCRIPT = {
  usage: "tsx scripts/train-embedder.ts [--depth 18|50] [--loss ce|arcface] [flags]",
  summary:
    "Trains a ResNet18/50 embedder with a cross-entropy or ArcFace head: progress, an atomic checkpoint per epoch, resume, metrics.json.",
};

async function main() {
  const f = readFlags(SCRIPT, FLAGS);
  const depth = Number(f.depth) as ResnetDepth;
  const { width, epochs, lr, optimizer, seed, limit, loss, scale, margin, progress } = f;
  const batchSize = f.batch;
  const weightDecay = f["weight-decay"];
  const testLimit = f["test-limit"];
  const jitter = augmentFrom(f);
  if (margin >= Math.PI / 2) {
    throw new CliError(`--margin must be a number below π/2 radians, got "${margin}"`);
  }
  await input(() => parseDatasetName(f.data));
  const out = f.out ?? join("runs", `embedder-r${depth}${loss === "arcface" ? "-arcface" : ""}`);
  await checkWritableOutput(out, { flag: "out", kind: "folder" });

  let trainData: Dataset;
  let testData: Dataset;
  const folder = folderOptions(f);
  trainData = await input(loadDataset(f.data, "train", { folder }));
  testData = await input(loadDataset(f.data, "test", { folder: { ...folder, progress: null } }));
  const { mean, std } = normalizationFor(trainData.name, trainData);
  if (limit) trainData = take(trainData, limit);
  if (testLimit) testData = take(testData, testLimit);
  const spec = resnetSpec({
    depth,
    width,
    input: [trainData.height, trainData.width, trainData.channels],
    mean,
    std,
  });
  const head = embedderHead({
    loss,
    embeddingSize: resnetEmbeddingSize(depth, width),
    classes: trainData.classes.length,
    scale,
    margin,
    easyMargin: f["easy-margin"],
  });
  const chosen = chooseEngine(f, { spec, head });
  let initialWeights: Weights | undefined;
  if (f.init) {
    const start = await input(loadEmbedder(f.init));
    if (JSON.stringify(start.spec) !== JSON.stringify(spec)) {
      throw new CliError(
        `--init ${f.init} holds ${start.spec.name}, not this run's ${spec.name} spec`,
      );
    }
    initialWeights = start.weights;
  }
  const params = countParams(spec);
  await initBackend();
  process.stderr.write(
    `train-embedder: ${spec.name} (${loss}), ${params} parameters, ${trainData.count} training / ${testData.count} test images of ${trainData.name}; engine ${chosen.describe} → ${out}\n`,
  );
  const interrupt = abortOnSigint(
    "train-embedder",
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
    optimizer,
    weightDecay,
    augment: jitter.augment,
    seed,
    workers: chosen.workers,
    engine: chosen.engine,
    outDir: out,
    resume: f.resume,
    head,
    initialWeights,
    progress,
    extra: {
      depth,
      width,
      data: trainData.name,
      loss,
      augment: jitter.record,
      ...chosen.extra,
      ...(loss === "arcface" ? { scale, margin, easyMargin: f["easy-margin"] } : {}),
      embeddingSize: resnetEmbeddingSize(depth, width),
      init: f.init ?? null,
      params,
      limit: limit ?? null,
      testCount: testData.count,
      command: ["tsx", "scripts/train-embedder.ts", ...process.argv.slice(2)].join(" "),
    },
  });
  interrupt.dispose();
  if (result.interrupted) {
    process.stderr.write(
      `train-embedder: interrupted after ${result.epochsDone} of ${epochs} epochs; run again with --resume to continue\n`,
    );
    process.exit(130);
  }
  const last = result.history.at(-1);
  process.stdout.write(
    `${JSON.stringify({
      model: spec.name,
      loss,
      params,
      epochs: result.epochsDone,
      engine: chosen.engine,
      testAccuracy: result.final?.accuracy ?? null,
      imagesPerSec: last?.imagesPerSec ?? null,
      checkpoint: result.checkpointPath,
      metrics: result.metricsPath ?? null,
    })}\n`,
  );
}

runScript("train-embedder", main);
