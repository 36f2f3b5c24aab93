// Trains a ResNet18/50 embedder with a cross-entropy or ArcFace head through the engine's
// train(): progress, an atomic checkpoint per epoch, resume, and metrics.json.
import { join } from "node:path";
import { type Dataset, take } from "../src/data/dataset.js";
import { FOLDER_FLAGS, FOLDER_USAGE, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset, parseDatasetName } from "../src/data/load.js";
import { normalizationFor } from "../src/data/normalize.js";
import { loadEmbedder } from "../src/eval/embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { type EmbedderLoss, embedderHead } from "../src/nn/heads.js";
import { type ResnetDepth, resnetEmbeddingSize, resnetSpec } from "../src/nn/resnet.js";
import { countParams } from "../src/nn/spec.js";
import type { Weights } from "../src/nn/weights.js";
import { train } from "../src/train/trainer.js";
import { scriptFlags } from "../src/util/cli.js";

const flags = scriptFlags("train-embedder");
const fail: (message: string) => never = flags.fail;
const { number } = flags;

const USAGE = `usage: train-embedder.ts [--depth 18|50] [--width 16] [--data mnist|fashion|cifar10|idx:DIR|folder:DIR]
  [--epochs 2] [--batch 128] [--lr 0.002] [--optimizer adam|sgd] [--weight-decay 0] [--seed 0]
  [--limit N] [--test-limit N] [--workers 1] [--out runs/embedder-r18] [--resume]
  [--loss ce|arcface] [--scale 64] [--margin 0.5] [--easy-margin] [--init CKPT]
  [--progress bar|lines|none]
  --init starts the model (not the head) from a trained embedder checkpoint of the same spec.
${FOLDER_USAGE}`;

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    fail(`--${name} must be one of ${allowed.join(", ")}, got "${value}"`);
  }
  return value as T;
}

function parseFlags() {
  return flags.parse({
    depth: { type: "string", default: "18" },
    width: { type: "string", default: "16" },
    data: { type: "string", default: "mnist" },
    epochs: { type: "string", default: "2" },
    batch: { type: "string", default: "128" },
    lr: { type: "string", default: "0.002" },
    optimizer: { type: "string", default: "adam" },
    "weight-decay": { type: "string", default: "0" },
    seed: { type: "string", default: "0" },
    limit: { type: "string" },
    "test-limit": { type: "string" },
    workers: { type: "string", default: "1" },
    out: { type: "string" },
    resume: { type: "boolean", default: false },
    loss: { type: "string", default: "ce" },
    scale: { type: "string", default: "64" },
    margin: { type: "string", default: "0.5" },
    "easy-margin": { type: "boolean", default: false },
    init: { type: "string" },
    progress: { type: "string" },
    help: { type: "boolean", default: false },
    ...FOLDER_FLAGS,
  });
}

async function main() {
  const f = parseFlags();
  if (f.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const depth = Number(oneOf("depth", f.depth, ["18", "50"])) as ResnetDepth;
  const width = number("width", f.width, true, 1);
  const epochs = number("epochs", f.epochs, true, 1);
  const batchSize = number("batch", f.batch, true, 1);
  const lr = number("lr", f.lr, false, 0);
  const optimizer = oneOf("optimizer", f.optimizer, ["adam", "sgd"]);
  const weightDecay = number("weight-decay", f["weight-decay"], false, 0);
  const seed = number("seed", f.seed, true, 0);
  const workers = number("workers", f.workers, true, 1);
  const limit = f.limit === undefined ? undefined : number("limit", f.limit, true, 1);
  const testLimit =
    f["test-limit"] === undefined ? undefined : number("test-limit", f["test-limit"], true, 1);
  const loss = oneOf<EmbedderLoss>("loss", f.loss, ["ce", "arcface"]);
  const scale = number("scale", f.scale, false, 0);
  const margin = number("margin", f.margin, false, 0);
  if (margin >= Math.PI / 2) fail(`--margin must be below π/2 radians, got ${margin}`);
  const progress = f.progress
    ? oneOf("progress", f.progress, ["bar", "lines", "none"] as const)
    : undefined;
  try {
    parseDatasetName(f.data);
  } catch (error) {
    fail((error as Error).message);
  }
  const out = f.out ?? join("runs", `embedder-r${depth}${loss === "arcface" ? "-arcface" : ""}`);

  let trainData: Dataset;
  let testData: Dataset;
  try {
    const folder = folderOptions(f, fail);
    trainData = await loadDataset(f.data, "train", { folder });
    testData = await loadDataset(f.data, "test", { folder: { ...folder, progress: null } });
  } catch (error) {
    fail((error as Error).message.split("\n")[0]);
  }
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
  let initialWeights: Weights | undefined;
  if (f.init) {
    try {
      const start = await loadEmbedder(f.init);
      if (JSON.stringify(start.spec) !== JSON.stringify(spec)) {
        fail(`--init ${f.init} holds ${start.spec.name}, not this run's ${spec.name} spec`);
      }
      initialWeights = start.weights;
    } catch (error) {
      fail((error as Error).message);
    }
  }
  const params = countParams(spec);
  await initBackend();
  process.stderr.write(
    `train-embedder: ${spec.name} (${loss}), ${params} parameters, ${trainData.count} training / ${testData.count} test images of ${trainData.name} → ${out}\n`,
  );
  const result = await train({
    spec,
    train: trainData,
    test: testData,
    epochs,
    batchSize,
    lr,
    optimizer,
    weightDecay,
    seed,
    workers,
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
      ...(loss === "arcface" ? { scale, margin, easyMargin: f["easy-margin"] } : {}),
      embeddingSize: resnetEmbeddingSize(depth, width),
      init: f.init ?? null,
      params,
      limit: limit ?? null,
      testCount: testData.count,
      command: ["tsx", "scripts/train-embedder.ts", ...process.argv.slice(2)].join(" "),
    },
  });
  const last = result.history.at(-1);
  process.stdout.write(
    `${JSON.stringify({
      model: spec.name,
      loss,
      params,
      epochs: result.epochsDone,
      testAccuracy: result.final?.accuracy ?? null,
      imagesPerSec: last?.imagesPerSec ?? null,
      checkpoint: result.checkpointPath,
      metrics: result.metricsPath ?? null,
    })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`train-embedder: ${error.message.split("\n")[0]}\n`);
  process.exit(1);
});
