// The direct Taylor expansion (Eq. 3) on 7×7 images: trains monomials(order) → dense(10),
// then writes the Fig. 3 quadratic-weight analysis (CSV, SVG, PNG) and the pruning table.
import { join } from "node:path";
import { accuracyOfKernels } from "../src/analysis/direct-eval.js";
import { trainDirect } from "../src/analysis/direct-train.js";
import { fig3Svg, writeSvgAndPng } from "../src/analysis/plot.js";
import { pruneByMagnitude } from "../src/analysis/prune.js";
import {
  byDistance,
  distanceCsv,
  quadraticWeights,
  weightsCsv,
} from "../src/analysis/quadratic.js";
import { augmentFlags, augmentFrom } from "../src/data/augment-flags.js";
import { type Dataset, take } from "../src/data/dataset.js";
import { loadDataset, parseDatasetName } from "../src/data/load.js";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { RESIZE_METHODS, type ResizeMethod, resizeDataset } from "../src/data/resize.js";
import { initBackend } from "../src/nn/backend.js";
import { countParams } from "../src/nn/spec.js";
import { taylorDirectSpec } from "../src/nn/taylor-direct.js";
import { chooseEngine, ENGINE_FLAGS } from "../src/train/engine-flags.js";
import type { TrainConfig } from "../src/train/train-config.js";
import { train } from "../src/train/trainer.js";
import { writeFileAtomic, writeJsonAtomic } from "../src/util/atomic-write.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { boolean, choice, int, number, readFlags, string } from "../src/util/flags.js";
import { abortOnSigint } from "../src/util/interrupt.js";
import { checkWritableOutput } from "../src/util/output-check.js";

const FLAGS = {
  order: int("the highest degree of the monomials", { required: true, min: 1, max: 4 }),
  data: string("mnist7, mnist, fashion or idx:DIR", { default: "mnist7" }),
  resize: choice(RESIZE_METHODS, "how images become 7×7", { default: "area" }),
  epochs: int("epochs", { default: 2, min: 1 }),
  batch: int("batch size", { default: 128, min: 1 }),
  lr: number("learning rate", { default: 0.001, min: 0 }),
  "weight-decay": number("decoupled (AdamW) weight decay of the kernel (ort engine)", {
    default: 0,
    min: 0,
  }),
  ...augmentFlags({
    jitter: { shift: 0.0357, rotate: 5, scale: 0.05 },
    note: "(ort engine) at 28×28 before the resize to 7×7",
  }),
  resume: boolean("continue from the checkpoint in --out (ort engine)"),
  seed: int("seed", { default: 0, min: 0 }),
  limit: int("use the first N training images", { min: 1 }),
  "test-limit": int("use the first N test images", { min: 1 }),
  out: string("output folder (default: runs/taylor-direct-orderN)", { arg: "DIR" }),
  engine: ENGINE_FLAGS.engine,
  threads: ENGINE_FLAGS.threads,
  progress: choice(["lines", "none"], "progress display", { default: "lines" }),
  "no-analysis": boolean("skip the Fig. 3 analysis and the pruning table"),
  "no-epoch-test": boolean("ort engine: skip the test accuracy after each epoch"),
};

/** Flags only the ort engine's train() honours (the tfjs trainer is the plain Adam of Eq. 3). */
const ORT_ONLY = ["weight-decay", "augment", "resume"] as const;

const SCRIPT = {
  usage: "tsx scripts/taylor-direct.ts --order 1..4 [flags]",
  summary:
    "The direct Taylor expansion (Eq. 3) on 7×7 images, then the Fig. 3 quadratic-weight analysis and the pruning table.",
};

const KERNEL = "3.kernel";
const BIAS = "3.bias";
const KEEP = [1, 0.5, 0.3, 0.1];

function to7x7(d: Dataset, method: ResizeMethod): Dataset {
  if (d.channels !== 1) {
    throw new CliError(`${d.name} has ${d.channels} channels; the direct expansion takes 7×7×1`);
  }
  return d.height === 7 && d.width === 7 ? d : resizeDataset(d, 7, 7, method);
}

/** The engine's train() with Ctrl-C stopping at the next step (the epoch checkpoint stays resumable). */
async function trainOnOrt(config: Omit<TrainConfig, "signal">) {
  const interrupt = abortOnSigint(
    "taylor-direct",
    "stopping before the next step; the last whole epoch's checkpoint stays resumable",
  );
  const result = await train({ ...config, signal: interrupt.signal });
  interrupt.dispose();
  if (result.interrupted) {
    process.stderr.write(
      `taylor-direct: interrupted after ${result.epochsDone} of ${config.epochs} epochs; run again with --resume to continue\n`,
    );
    process.exit(130);
  }
  return result;
}

async function main() {
  const f = readFlags(SCRIPT, FLAGS);
  const { order, resize, limit } = f;
  const testLimit = f["test-limit"];
  const jitter = augmentFrom(f);
  const augment = jitter.augment !== undefined;
  await input(() => parseDatasetName(f.data));
  if (augment && f.data !== "mnist7") {
    throw new CliError(
      `--augment affine jitters 28×28 MNIST before the resize: it needs --data mnist7, got ${f.data}`,
    );
  }
  const spec = taylorDirectSpec(order);
  const out = f.out ?? join("runs", `taylor-direct-order${order}`);
  await checkWritableOutput(out, { flag: "out", kind: "folder" });
  const chosen = chooseEngine({ ...f, workers: 1 }, { spec });
  if (chosen.engine !== "ort") {
    const set = ORT_ONLY.filter((flag) =>
      flag === "augment" ? augment : flag === "weight-decay" ? f[flag] > 0 : f[flag],
    );
    if (set.length > 0) {
      throw new CliError(
        `--${set.join(", --")} need --engine ort (the tfjs trainer has none of them)`,
      );
    }
  }
  const command = ["tsx", "scripts/taylor-direct.ts", ...process.argv.slice(2)].join(" ");

  await initBackend();
  let trainData: Dataset;
  let testData: Dataset;
  // Jitter acts on the 28×28 digits; each batch is then resized to 7×7 (as train-taylornet).
  trainData = await input(loadDataset(augment ? "mnist" : f.data, "train", { resize }));
  testData = await input(loadDataset(f.data, "test", { resize }));
  if (limit) trainData = take(trainData, limit);
  if (!augment) trainData = to7x7(trainData, resize);
  testData = to7x7(testLimit ? take(testData, testLimit) : testData, resize);
  const params = countParams(spec);
  process.stderr.write(
    `taylor-direct: order ${order}, ${params} parameters, ${trainData.count} training images; engine ${chosen.describe} → ${out}\n`,
  );
  const quiet = f.progress === "none";
  const extra = {
    data: trainData.name,
    resize,
    order,
    params,
    limit: limit ?? null,
    augment: jitter.record,
    command,
  };
  // tfjs: the dedicated trainer (features in typed arrays, one matmul per gradient); ort: the
  // engine's train() on the monomials graph. Same initialisation, Adam and cosine schedule.
  const result =
    chosen.engine === "ort"
      ? await trainOnOrt({
          spec,
          train: trainData,
          test: f["no-epoch-test"] ? undefined : testData,
          epochs: f.epochs,
          batchSize: f.batch,
          lr: f.lr,
          weightDecay: f["weight-decay"],
          augment: jitter.augment,
          resizeBatches: augment ? resize : undefined,
          resume: f.resume,
          seed: f.seed,
          engine: "ort",
          workers: chosen.workers,
          outDir: out,
          progress: f.progress,
          extra: { ...extra, ...chosen.extra },
        })
      : await trainDirect(trainData, {
          spec,
          order,
          norm: MNIST_NORMALIZATION,
          epochs: f.epochs,
          batchSize: f.batch,
          lr: f.lr,
          seed: f.seed,
          checkpointPath: join(out, "checkpoint.safetensors"),
          extra: { ...extra, ...chosen.extra },
          log: quiet ? undefined : (line) => process.stderr.write(`taylor-direct: ${line}\n`),
        });
  const kernel = result.weights[KERNEL].data;
  const keep = f["no-analysis"] ? [1] : KEEP;
  const pruned = keep.map((k) => (k === 1 ? kernel : pruneByMagnitude(kernel, k)));
  const accuracies = accuracyOfKernels(
    testData,
    order,
    MNIST_NORMALIZATION,
    pruned,
    result.weights[BIAS].data,
  );
  const summary: Record<string, unknown> = {
    order,
    terms: params / 10 - 1,
    params,
    data: trainData.name,
    resize,
    trainCount: trainData.count,
    testCount: testData.count,
    engine: chosen.engine,
    testAccuracy: accuracies[0],
    history: result.history,
    command,
  };
  process.stderr.write(
    `taylor-direct: order ${order} test accuracy ${(accuracies[0] * 100).toFixed(2)}%\n`,
  );
  if (!f["no-analysis"]) {
    summary.pruning = keep.map((k, index) => {
      process.stderr.write(
        `taylor-direct: keep ${k * 100}% of the weights → test accuracy ${(accuracies[index] * 100).toFixed(2)}%\n`,
      );
      return {
        keep: k,
        kept: pruned[index].reduce((s, v) => s + (v !== 0 ? 1 : 0), 0),
        accuracy: accuracies[index],
      };
    });
    if (order >= 2) {
      const quadratic = quadraticWeights(kernel, 10, 7, 7);
      const rows = byDistance(quadratic);
      await writeFileAtomic(join(out, "fig3-quadratic-weights.csv"), weightsCsv(quadratic, 7));
      await writeFileAtomic(join(out, "fig3-by-distance.csv"), distanceCsv(rows));
      const caption = `direct Taylor order ${order} on ${trainData.name}: ‖w_ij‖₂ over the 10 classes, levels = quintiles by value (L1 smallest)`;
      await writeSvgAndPng(
        fig3Svg(quadratic, rows, caption),
        join(out, "fig3.svg"),
        join(out, "fig3.png"),
      );
      summary.fig3 = {
        csv: join(out, "fig3-by-distance.csv"),
        png: join(out, "fig3.png"),
        weight: "L2 norm over classes",
      };
    }
  }
  await writeJsonAtomic(join(out, "taylor-direct.json"), summary);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

runScript("taylor-direct", main);
