// What train() takes and gives back: the run's configuration, per-epoch metrics and the result,
// the typed error scripts print as one line, and the checks made before any work starts.
import type { Augment } from "../data/augment.js";
import type { Dataset } from "../data/dataset.js";
import type { ResizeMethod } from "../data/resize.js";
import type { ModelSpec } from "../nn/spec.js";
import type { Weights } from "../nn/weights.js";
import type { TrainingEngineChoice } from "./engine.js";
import type { EvalResult } from "./evaluate.js";
import type { TrainHead } from "./losses.js";
import type { OptimizerKind, ScheduleKind } from "./optimizer.js";

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
  engine?: TrainingEngineChoice;
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
  /** "json": progress events on stderr (util/progress-event.ts) for a parent process. */
  progress?: "bar" | "lines" | "json" | "none";
  /**
   * Stops the run (Ctrl-C, a queue's shutdown, a test): checked between steps; the epoch in
   * progress is dropped, the checkpoint of the last whole epoch stays resumable, and train()
   * resolves with `interrupted: true`.
   */
  signal?: AbortSignal;
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
  /** The weights reached; after an interrupt mid-epoch, partway through the dropped epoch. */
  weights: Weights;
  headWeights: Weights;
  history: EpochMetrics[];
  /** Evaluation of the final weights on the test set, when one was given. */
  final?: EvalResult;
  /** Whole epochs done (and checkpointed when outDir is set). */
  epochsDone: number;
  /** The signal stopped the run before its last epoch. */
  interrupted: boolean;
  checkpointPath?: string;
  metricsPath?: string;
}

/** A bad training configuration or a diverging run (scripts print it as one line). */
export class TrainError extends Error {
  override name = "TrainError";
}

/** The settings stored in the checkpoint and metrics.json (and compared on resume). */
export type RunSettings = ReturnType<typeof runSettings>;

export function runSettings(config: TrainConfig) {
  return {
    epochs: config.epochs,
    batchSize: config.batchSize,
    lr: config.lr,
    optimizer: config.optimizer ?? "adam",
    momentum: config.momentum ?? 0.9,
    weightDecay: config.weightDecay ?? 0,
    schedule: config.schedule ?? "cosine",
    seed: config.seed ?? 0,
    workers: Math.max(1, config.workers ?? 1),
    trainCount: config.train.count,
    trainData: config.train.name,
    classes: config.train.classes,
    ...(config.train.preprocessing ? { preprocessing: config.train.preprocessing } : {}),
    ...(config.extra ?? {}),
  };
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

/** Data shapes, epochs, batch size and learning rate, checked before anything is computed. */
export function checkTrainConfig(config: TrainConfig): void {
  const { spec } = config;
  checkData(spec, config.train, "training", config.resizeBatches !== undefined);
  if (config.test) checkData(spec, config.test, "test");
  for (const [key, value] of Object.entries({
    epochs: config.epochs,
    batchSize: config.batchSize,
  })) {
    if (!Number.isInteger(value) || value < 1)
      throw new TrainError(`${key} must be a positive integer, got ${value}`);
  }
  if (!(config.lr > 0)) throw new TrainError(`lr must be positive, got ${config.lr}`);
}
