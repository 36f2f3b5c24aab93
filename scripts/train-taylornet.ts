// Trains a TaylorNet (mnist28 / mnist7 / cifar10, optionally with every CG ablated to a conv)
// with the engine's train(): progress, atomic checkpoint per epoch, resume, metrics JSON.
import { join } from "node:path";
import { affineJitter } from "../src/data/augment.js";
import { type Dataset, take } from "../src/data/dataset.js";
import { FOLDER_FLAGS, FOLDER_USAGE, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset, parseDatasetName } from "../src/data/load.js";
import { RESIZE_METHODS, type ResizeMethod, resizeDataset } from "../src/data/resize.js";
import { initBackend } from "../src/nn/backend.js";
import { countParams } from "../src/nn/spec.js";
import { TAYLORNET_ARCHS, taylorNetSpec } from "../src/nn/taylornet.js";
import { ENGINE_CHOICES, type EngineChoice, resolveEngine } from "../src/train/parallel.js";
import { train } from "../src/train/trainer.js";
import { scriptFlags } from "../src/util/cli.js";

const flags = scriptFlags("train-taylornet");
const fail: (message: string) => never = flags.fail;
const { number } = flags;

const USAGE = `usage: train-taylornet.ts --arch ${TAYLORNET_ARCHS.join("|")} [--data mnist|mnist7|fashion|cifar10|idx:DIR|folder:DIR]
  [--epochs 5] [--batch 128] [--lr 0.002] [--weight-decay 0] [--seed 0] [--limit N] [--test-limit N] [--workers 1]
  [--engine auto|tfjs|ort]
  [--out runs/taylornet-ARCH] [--resume] [--width 64] [--order 2] [--ablate-cg] [--no-batch-norm]
  [--resize area|bilinear] [--augment none|affine] [--jitter SHIFT,DEGREES,SCALE (shift: fraction of the side; default 0.0714,10,0.1)]
  [--progress bar|lines|none]
${FOLDER_USAGE}`;

const DEFAULT_DATA: Record<string, string> = {
  mnist28: "mnist",
  mnist7: "mnist7",
  cifar10: "cifar10",
};

function parseFlags() {
  return flags.parse({
    arch: { type: "string" },
    data: { type: "string" },
    epochs: { type: "string", default: "5" },
    batch: { type: "string", default: "128" },
    lr: { type: "string", default: "0.002" },
    "weight-decay": { type: "string", default: "0" },
    seed: { type: "string", default: "0" },
    limit: { type: "string" },
    "test-limit": { type: "string" },
    workers: { type: "string", default: "1" },
    engine: { type: "string", default: "auto" },
    out: { type: "string" },
    resume: { type: "boolean", default: false },
    width: { type: "string", default: "64" },
    order: { type: "string", default: "2" },
    "ablate-cg": { type: "boolean", default: false },
    "no-batch-norm": { type: "boolean", default: false },
    resize: { type: "string", default: "area" },
    augment: { type: "string", default: "none" },
    jitter: { type: "string", default: "0.0714,10,0.1" },
    progress: { type: "string" },
    help: { type: "boolean", default: false },
    ...FOLDER_FLAGS,
  });
}

/** Resizes a data set to the model's input when only the spatial size differs. */
function fitToInput(
  d: Dataset,
  [h, w, c]: [number, number, number],
  method: ResizeMethod,
): Dataset {
  if (d.channels !== c) fail(`${d.name} has ${d.channels} channel(s) but the model takes ${c}`);
  if (d.height === h && d.width === w) return d;
  return resizeDataset(d, h, w, method);
}

async function main() {
  const f = parseFlags();
  if (f.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!f.arch) fail(`--arch is required (${TAYLORNET_ARCHS.join(", ")})`);
  if (!(TAYLORNET_ARCHS as readonly string[]).includes(f.arch)) {
    fail(`unknown --arch "${f.arch}"; choose one of ${TAYLORNET_ARCHS.join(", ")}`);
  }
  if (!(RESIZE_METHODS as readonly string[]).includes(f.resize)) {
    fail(`unknown --resize "${f.resize}"; choose one of ${RESIZE_METHODS.join(", ")}`);
  }
  if (!(ENGINE_CHOICES as readonly string[]).includes(f.engine)) {
    fail(`--engine must be one of ${ENGINE_CHOICES.join(", ")}, got "${f.engine}"`);
  }
  if (f.progress && !["bar", "lines", "none"].includes(f.progress))
    fail(`--progress must be bar, lines or none`);
  if (!["none", "affine"].includes(f.augment)) {
    fail(`--augment must be none or affine, got "${f.augment}"`);
  }
  const resize = f.resize as ResizeMethod;
  const augment = f.augment === "affine";
  const [shift, rotate, scale] = f.jitter
    .split(",")
    .map((v) => number("jitter", v.trim(), false, 0)!);
  if (scale === undefined) fail(`--jitter must be SHIFT,DEGREES,SCALE, got "${f.jitter}"`);
  const epochs = number("epochs", f.epochs, true, 1)!;
  const batchSize = number("batch", f.batch, true, 1)!;
  const lr = number("lr", f.lr, false, 0)!;
  const weightDecay = number("weight-decay", f["weight-decay"], false, 0)!;
  const seed = number("seed", f.seed, true, 0)!;
  const workers = number("workers", f.workers, true, 1)!;
  const width = number("width", f.width, true, 1)!;
  const order = number("order", f.order, true, 1)!;
  if (order > 4) fail(`--order must be 1..4, got ${order}`);
  const limit = number("limit", f.limit, true, 1);
  const testLimit = number("test-limit", f["test-limit"], true, 1);
  const dataName = f.data ?? DEFAULT_DATA[f.arch];
  try {
    parseDatasetName(dataName);
  } catch (error) {
    fail((error as Error).message);
  }
  const spec = taylorNetSpec(f.arch, {
    width,
    order,
    ablate: f["ablate-cg"],
    batchNorm: !f["no-batch-norm"],
  });
  let engine: ReturnType<typeof resolveEngine> = "tfjs";
  try {
    engine = resolveEngine(f.engine as EngineChoice, { spec });
  } catch (error) {
    fail((error as Error).message);
  }
  const out = f.out ?? join("runs", `taylornet-${f.arch}${f["ablate-cg"] ? "-ablated" : ""}`);

  await initBackend();
  let trainData: Dataset;
  let testData: Dataset;
  try {
    // Jitter acts at the source resolution (28×28 for mnist7), each batch is then resized.
    const folder = folderOptions(f, fail);
    trainData = await loadDataset(augment && dataName === "mnist7" ? "mnist" : dataName, "train", {
      resize,
      folder,
    });
    testData = await loadDataset(dataName, "test", {
      resize,
      folder: { ...folder, progress: null },
    });
  } catch (error) {
    fail((error as Error).message.split("\n")[0]);
  }
  const resized = trainData.height !== spec.input[0] || trainData.width !== spec.input[1];
  const resizeUsed = resized || dataName.startsWith("mnist7") ? resize : "none";
  if (limit) trainData = take(trainData, limit);
  if (!augment) trainData = fitToInput(trainData, spec.input, resize);
  testData = fitToInput(testLimit ? take(testData, testLimit) : testData, spec.input, resize);
  const params = countParams(spec);
  process.stderr.write(
    `train-taylornet: ${spec.name}, ${params} parameters, ${trainData.count} training / ${testData.count} test images of ${trainData.name} (resize: ${resizeUsed}); engine ${engine}${engine === "ort" ? ` (${workers} intra-op thread(s))` : ` (${workers} worker(s))`} → ${out}\n`,
  );
  const result = await train({
    spec,
    train: trainData,
    test: testData,
    epochs,
    batchSize,
    lr,
    weightDecay,
    augment: augment ? affineJitter({ shift, rotate, scale }) : undefined,
    resizeBatches: augment ? resize : undefined,
    seed,
    workers,
    engine,
    outDir: out,
    resume: f.resume,
    progress: f.progress as "bar" | "lines" | "none" | undefined,
    extra: {
      arch: f.arch,
      data: trainData.name,
      resize: resizeUsed,
      engine,
      augment: augment ? { kind: "affine", shift, rotate, scale } : "none",
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
  const accuracy = result.final?.accuracy;
  process.stdout.write(
    `${JSON.stringify({ model: spec.name, params, epochs: result.epochsDone, testAccuracy: accuracy ?? null, checkpoint: result.checkpointPath, metrics: result.metricsPath ?? null })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`train-taylornet: ${error.message.split("\n")[0]}\n`);
  process.exit(1);
});
