// The training loop: deterministic shuffling from seed + epoch, batches through a gradient
// engine (in-thread or worker threads), Adam/SGD on Float32Arrays, batch-norm moving
// statistics, an atomic checkpoint after every epoch, resume, and the final metrics.json.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Dataset } from "../data/dataset.js";
import { activeBackend, initBackend } from "../nn/backend.js";
import {
  type BatchNormLayer,
  type LayerSpec,
  layerOutputShape,
  type ModelSpec,
  modelParams,
  type Shape,
} from "../nn/spec.js";
import { gaussian, initWeights, rng, type Weights } from "../nn/weights.js";
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
import {
  Optimizer,
  type OptimizerKind,
  type ParamRef,
  type ScheduleKind,
  scheduledLr,
} from "./optimizer.js";
import { createGradientEngine } from "./parallel.js";
import { createProgress } from "./progress.js";
import type { Batch, BatchStats, StepModel } from "./step.js";

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
  /** Where checkpoint.safetensors and metrics.json go; none → nothing written. */
  outDir?: string;
  /** Continue from outDir's checkpoint when there is one. */
  resume?: boolean;
  head?: TrainHead;
  augment?: Augment;
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

/** The permutation of 0..n−1 for an epoch: Fisher–Yates from mulberry32(seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const random = rng(mix(seed, epoch, 0x5eed));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

function mix(seed: number, a: number, b: number): number {
  let h = (seed ^ Math.imul(a + 1, 0x9e3779b1) ^ Math.imul(b + 7, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

interface BatchNormSite {
  layer: BatchNormLayer;
  /** Values per channel and image that its batch statistics average over (H·W, or 1). */
  spatial: number;
}

function batchNormSites(
  layers: LayerSpec[],
  input: Shape,
  prefix = "",
  out = new Map<string, BatchNormSite>(),
): Map<string, BatchNormSite> {
  let shape = input;
  layers.forEach((layer, i) => {
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    if (layer.kind === "batchNorm") {
      out.set(path, { layer, spatial: shape.slice(0, -1).reduce((a, b) => a * b, 1) });
    }
    if (layer.kind === "residual") {
      batchNormSites(layer.body, shape, `${path}.body`, out);
      batchNormSites(layer.shortcut, shape, `${path}.shortcut`, out);
    }
    shape = layerOutputShape(layer, shape, path);
  });
  return out;
}

function initHeadWeights(head: TrainHead | undefined, seed: number): Weights {
  const out: Weights = {};
  if (!head) return out;
  const random = rng(mix(seed, 0, 0x4ead));
  const normal = gaussian(random);
  for (const p of head.params) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (p.init === "ones") data.fill(1);
    else if (p.init === "glorotUniform") {
      const limit = Math.sqrt(6 / (p.fanIn + (p.shape.at(-1) ?? 1)));
      for (let i = 0; i < size; i++) data[i] = (random() * 2 - 1) * limit;
    } else if (p.init !== "zeros") {
      const std = Math.sqrt((p.init === "heNormal" ? 2 : 1) / p.fanIn);
      for (let i = 0; i < size; i++) data[i] = normal() * std;
    }
    out[p.name] = { shape: p.shape, data };
  }
  return out;
}

/** moving = m·moving + (1 − m)·batch, with the unbiased batch variance (as PyTorch). */
function updateMovingStats(
  weights: Weights,
  sites: Map<string, BatchNormSite>,
  stats: Record<string, BatchStats>,
  images: number,
): void {
  for (const [path, s] of Object.entries(stats)) {
    const site = sites.get(path);
    if (!site) continue;
    const m = site.layer.momentum ?? 0.9;
    const mean = weights[`${path}.movingMean`].data;
    const variance = weights[`${path}.movingVariance`].data;
    const n = images * site.spatial;
    const unbias = n > 1 ? n / (n - 1) : 1;
    for (let i = 0; i < mean.length; i++) {
      mean[i] = m * mean[i] + (1 - m) * s.mean[i];
      variance[i] = m * variance[i] + (1 - m) * s.variance[i] * unbias;
    }
  }
}

function checkData(spec: ModelSpec, d: Dataset, role: string): void {
  const [h, w, c] = spec.input;
  if (d.height !== h || d.width !== w || d.channels !== c) {
    throw new Error(
      `${role} data ${d.name} is ${d.height}×${d.width}×${d.channels}, ${spec.name} takes ${h}×${w}×${c}`,
    );
  }
  if (d.count < 1) throw new Error(`${role} data ${d.name} is empty`);
}

/** Trains spec on train; returns the final weights and metrics (see TrainConfig). */
export async function train(config: TrainConfig): Promise<TrainResult> {
  const { spec, train: data } = config;
  checkData(spec, data, "training");
  if (config.test) checkData(spec, config.test, "test");
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
    ...(config.extra ?? {}),
  };
  const optimizer = new Optimizer({
    kind: settings.optimizer,
    momentum: settings.momentum,
    weightDecay: settings.weightDecay,
  });
  const checkpointPath = config.outDir ? join(config.outDir, CHECKPOINT_FILE) : undefined;
  const metricsPath = config.outDir ? join(config.outDir, METRICS_FILE) : undefined;

  let weights = config.initialWeights ?? initWeights(spec, seed);
  let headWeights = initHeadWeights(config.head, seed);
  let history: EpochMetrics[] = [];
  let startEpoch = 0;
  if (config.resume && checkpointPath && existsSync(checkpointPath)) {
    const ckpt = await loadCheckpoint(checkpointPath);
    if (JSON.stringify(ckpt.spec) !== JSON.stringify(spec)) {
      throw new Error(
        `${checkpointPath}: the checkpoint's spec differs from ${spec.name}'s; use another --out or drop --resume`,
      );
    }
    for (const key of ["batchSize", "seed", "optimizer", "lr", "schedule"] as const) {
      if (ckpt.config[key] !== settings[key]) {
        throw new Error(
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
  const all = (): Weights => {
    const out: Weights = { ...weights };
    for (const [name, w] of Object.entries(headWeights)) out[`head.${name}`] = w;
    return out;
  };
  const refs: ParamRef[] = trainable.map((name) => {
    const w = all()[name];
    return { name, data: w.data, rank: w.shape.length };
  });
  const bnSites = batchNormSites(spec.layers, spec.input);
  const perImage = spec.input[0] * spec.input[1] * spec.input[2];
  const stepsPerEpoch = Math.ceil(data.count / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const lastEpoch = config.stopAfterEpochs
    ? Math.min(config.epochs, startEpoch + config.stopAfterEpochs)
    : config.epochs;
  const progress = createProgress(config.progress);
  const engine = await createGradientEngine(model, all(), workers);
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
        config.augment?.(batch.images, batch.count, spec.input, rng(mix(seed, epoch, step + 1)));
        const result = await engine.compute(all(), batch);
        if (!Number.isFinite(result.loss)) {
          throw new Error(
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
