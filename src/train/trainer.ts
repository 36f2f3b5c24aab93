// The training loop: deterministic shuffling from seed + epoch, batches through a gradient
// engine (in-thread or worker threads), Adam/SGD on Float32Arrays, batch-norm moving
// statistics, an atomic checkpoint after every epoch, resume, and the final metrics.json.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Dataset, imageSize } from "../data/dataset.js";
import { type ResizeMethod, resizeImages } from "../data/resize.js";
import { activeBackend, initBackend } from "../nn/backend.js";
import { type ModelSpec, modelParams } from "../nn/spec.js";
import { initWeights, rng, type Weights } from "../nn/weights.js";
import { writeJsonAtomic } from "../util/atomic-write.js";
import {
  CHECKPOINT_FILE,
  type Checkpoint,
  loadCheckpoint,
  METRICS_FILE,
  saveCheckpoint,
} from "./checkpoint.js";
import { type EvalResult, evaluate } from "./evaluate.js";
import type { TrainHead } from "./losses.js";
import { batchNormSites, updateMovingStats } from "./moving-stats.js";
import {
  Optimizer,
  type OptimizerKind,
  type ParamRef,
  type ScheduleKind,
  scheduledLr,
} from "./optimizer.js";
import { createGradientEngine, type EngineChoice, resolveEngine } from "./parallel.js";
import { createProgress } from "./progress.js";
import { epochOrder, initHeadWeights, mix } from "./seeding.js";
import type { Batch, StepModel } from "./step.js";

export { epochOrder } from "./seeding.js";

/** Mutates a batch of `count` NHWC images in place (deterministic given `random`). */
export type Augment = (
  images: Float32Array,
  count: number,
  shape: [number, number, number],
  random: () => number,
) => void;

export interface TrainConfig {
  spec: ModelSpec;
  train: Dataset;
  test?: Dataset;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer?: OptimizerKind;
  momentum?: number;
  weightDecay?: number;
  schedule?: ScheduleKind;
  seed?: number;
  workers?: number;
  /** Gradient engine (default tfjs); with ort, `workers` is onnxruntime's intra-op threads. */
  engine?: EngineChoice;
  /** Where checkpoint.safetensors and metrics.json go; none → nothing written. */
  outDir?: string;
  /** Continue from outDir's checkpoint when there is one. */
  resume?: boolean;
  head?: TrainHead;
  augment?: Augment;
  /**
   * Training images at another resolution than the model's input (e.g. 28×28 for a 7×7 model):
   * each batch is augmented at the data's resolution, then resized by this method.
   */
  resizeBatches?: ResizeMethod;
  /** Start from these weights instead of initWeights(spec, seed). */
  initialWeights?: Weights;
  progress?: "bar" | "lines" | "none";
  /** Stop after this many epochs of this call (for tests of resume); the run stays resumable. */
  stopAfterEpochs?: number;
  /** Extra JSON stored in the checkpoint config and metrics.json (data set, command...). */
  extra?: Record<string, unknown>;
  onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  seconds: number;
  imagesPerSec: number;
  test?: EvalResult;
}

export interface TrainResult {
  spec: ModelSpec;
  weights: Weights;
  headWeights: Weights;
  history: EpochMetrics[];
  /** Evaluation of the final weights on the test set, when one was given. */
  final?: EvalResult;
  epochsDone: number;
  checkpointPath?: string;
  metricsPath?: string;
}

/** A bad training configuration or a diverging run (scripts print it as one line). */
export class TrainError extends Error {
  override name = "TrainError";
}

function copyWeights(w: Weights): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(w))
    out[name] = { shape: [...t.shape], data: t.data.slice() };
  return out;
}

function checkData(spec: ModelSpec, d: Dataset, role: string, resizable = false): void {
  const [h, w, c] = spec.input;
  if ((!resizable && (d.height !== h || d.width !== w)) || d.channels !== c) {
    throw new TrainError(
      `${role} data ${d.name} is ${d.height}×${d.width}×${d.channels}, ${spec.name} takes ${h}×${w}×${c}`,
    );
  }
  if (d.count < 1) throw new TrainError(`${role} data ${d.name} is empty`);
}

/** Trains spec on train; returns the final weights and metrics (see TrainConfig). */
export async function train(config: TrainConfig): Promise<TrainResult> {
  const { spec, train: data } = config;
  checkData(spec, data, "training", config.resizeBatches !== undefined);
  if (config.test) checkData(spec, config.test, "test");
  for (const [key, value] of Object.entries({
    epochs: config.epochs,
    batchSize: config.batchSize,
  })) {
    if (!Number.isInteger(value) || value < 1)
      throw new TrainError(`${key} must be a positive integer, got ${value}`);
  }
  if (!(config.lr > 0)) throw new TrainError(`lr must be positive, got ${config.lr}`);
  if (!activeBackend()) await initBackend();
  const seed = config.seed ?? 0;
  const workers = Math.max(1, config.workers ?? 1);
  const settings = {
    epochs: config.epochs,
    batchSize: config.batchSize,
    lr: config.lr,
    optimizer: config.optimizer ?? "adam",
    momentum: config.momentum ?? 0.9,
    weightDecay: config.weightDecay ?? 0,
    schedule: config.schedule ?? "cosine",
    seed,
    workers,
    trainCount: data.count,
    trainData: data.name,
    classes: data.classes,
    ...(data.preprocessing ? { preprocessing: data.preprocessing } : {}),
    ...(config.extra ?? {}),
  };
  const optimizer = new Optimizer({
    kind: settings.optimizer,
    momentum: settings.momentum,
    weightDecay: settings.weightDecay,
  });
  const checkpointPath = config.outDir ? join(config.outDir, CHECKPOINT_FILE) : undefined;
  const metricsPath = config.outDir ? join(config.outDir, METRICS_FILE) : undefined;

  let weights = config.initialWeights
    ? copyWeights(config.initialWeights)
    : initWeights(spec, seed);
  let headWeights = initHeadWeights(config.head, seed);
  let history: EpochMetrics[] = [];
  let startEpoch = 0;
  if (config.resume && checkpointPath && existsSync(checkpointPath)) {
    const ckpt = await loadCheckpoint(checkpointPath);
    if (JSON.stringify(ckpt.spec) !== JSON.stringify(spec)) {
      throw new TrainError(
        `${checkpointPath}: the checkpoint's spec differs from ${spec.name}'s; use another --out or drop --resume`,
      );
    }
    for (const key of ["batchSize", "seed", "optimizer", "lr", "schedule"] as const) {
      if (ckpt.config[key] !== settings[key]) {
        throw new TrainError(
          `${checkpointPath}: checkpoint has ${key} ${ckpt.config[key]}, this run ${settings[key]}`,
        );
      }
    }
    weights = ckpt.weights;
    headWeights = ckpt.headWeights;
    optimizer.load(ckpt.optimizer);
    history = ckpt.metrics as EpochMetrics[];
    startEpoch = ckpt.epoch;
  }

  const infos = modelParams(spec).filter((p) => p.trainable);
  const trainable = [
    ...infos.map((p) => p.name),
    ...(config.head?.params ?? []).map((p) => `head.${p.name}`),
  ];
  const model: StepModel = { spec, classes: data.classes.length, head: config.head, trainable };
  const engineKind = resolveEngine(config.engine ?? "tfjs", model);
  const all = (): Weights => {
    const out: Weights = { ...weights };
    for (const [name, w] of Object.entries(headWeights)) out[`head.${name}`] = w;
    return out;
  };
  const merged = all();
  const refs: ParamRef[] = trainable.map((name) => {
    const w = merged[name];
    return { name, data: w.data, rank: w.shape.length };
  });
  const bnSites = batchNormSites(spec.layers, spec.input);
  const dataShape: [number, number, number] = [data.height, data.width, data.channels];
  const perImage = imageSize(data);
  const resizeBatch = (images: Float32Array, count: number): Float32Array =>
    data.height === spec.input[0] && data.width === spec.input[1]
      ? images
      : resizeImages(
          images,
          count,
          data.height,
          data.width,
          data.channels,
          spec.input[0],
          spec.input[1],
          config.resizeBatches,
        );
  const stepsPerEpoch = Math.ceil(data.count / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const lastEpoch = config.stopAfterEpochs
    ? Math.min(config.epochs, startEpoch + config.stopAfterEpochs)
    : config.epochs;
  const progress = createProgress(config.progress);
  const engine = await createGradientEngine(model, all(), workers, engineKind);
  let lr = config.lr;
  try {
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const order = epochOrder(data.count, seed, epoch);
      const started = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      progress.start(epoch + 1, config.epochs, data.count);
      for (let step = 0; step < stepsPerEpoch; step++) {
        const idx = order.subarray(
          step * config.batchSize,
          Math.min(data.count, (step + 1) * config.batchSize),
        );
        const batch: Batch = {
          images: new Float32Array(idx.length * perImage),
          labels: new Uint8Array(idx.length),
          count: idx.length,
        };
        for (let i = 0; i < idx.length; i++) {
          batch.images.set(
            data.images.subarray(idx[i] * perImage, (idx[i] + 1) * perImage),
            i * perImage,
          );
          batch.labels[i] = data.labels[idx[i]];
        }
        config.augment?.(batch.images, batch.count, dataShape, rng(mix(seed, epoch, step + 1)));
        batch.images = resizeBatch(batch.images, batch.count);
        const result = await engine.compute(all(), batch);
        if (!Number.isFinite(result.loss)) {
          throw new TrainError(
            `loss became ${result.loss} at epoch ${epoch + 1}, step ${step + 1}; lower --lr`,
          );
        }
        lr = scheduledLr(settings.schedule, config.lr, epoch * stepsPerEpoch + step, totalSteps);
        optimizer.apply(refs, result.grads, lr);
        updateMovingStats(weights, bnSites, result.batchStats, batch.count);
        lossSum += result.loss * result.count;
        correct += result.correct;
        seen += result.count;
        progress.update(seen, lossSum / seen, correct / seen);
      }
      const seconds = (performance.now() - started) / 1000;
      const test = config.test
        ? evaluate(spec, weights, config.test, {
            batchSize: Math.max(config.batchSize, 256),
            head: config.head,
            headWeights,
          })
        : undefined;
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        loss: lossSum / seen,
        accuracy: correct / seen,
        lr,
        seconds,
        imagesPerSec: seen / seconds,
        ...(test ? { test } : {}),
      };
      history.push(metrics);
      progress.finish({
        epoch: epoch + 1,
        epochs: config.epochs,
        images: seen,
        seconds,
        loss: metrics.loss,
        accuracy: metrics.accuracy,
        test,
      });
      if (checkpointPath) {
        const ckpt: Checkpoint = {
          spec,
          weights,
          headWeights,
          optimizer: optimizer.state(),
          epoch: epoch + 1,
          config: settings,
          metrics: history,
          rng: {
            seed,
            scheme: "mulberry32; order: Fisher-Yates(seed, epoch); augment: (seed, epoch, step)",
          },
        };
        await saveCheckpoint(checkpointPath, ckpt);
      }
      await config.onEpoch?.(metrics);
    }
  } finally {
    await engine.close();
  }
  const epochsDone = Math.max(startEpoch, lastEpoch);
  const final = epochsDone === config.epochs ? history.at(-1)?.test : undefined;
  if (metricsPath && epochsDone === config.epochs) {
    await writeJsonAtomic(metricsPath, {
      model: spec.name,
      checkpoint: CHECKPOINT_FILE,
      epochs: epochsDone,
      config: settings,
      test: final ?? null,
      train: history.at(-1) ?? null,
      history,
      createdAt: new Date().toISOString(),
    });
  }
  return { spec, weights, headWeights, history, final, epochsDone, checkpointPath, metricsPath };
}
