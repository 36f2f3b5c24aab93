// The training loop: deterministic shuffling from seed + epoch, batches through a gradient
// engine (in-thread, worker threads or onnxruntime), Adam/SGD on Float32Arrays, batch-norm
// moving statistics, an atomic checkpoint after every epoch, resume, cancellation by an
// AbortSignal, and the final metrics.json. Each step is a named function below.
import { join } from "node:path";
import { activeBackend, initBackend } from "../nn/backend.js";
import { modelParams } from "../nn/spec.js";
import type { Weights } from "../nn/weights.js";
import { type BatchSource, makeBatch, stepsPerEpoch } from "./batches.js";
import { CHECKPOINT_FILE, METRICS_FILE } from "./checkpoint.js";
import { createGradientEngine, resolveEngine } from "./create-engine.js";
import { writeCurves } from "./curves.js";
import type { GradientEngine } from "./engine.js";
import { evaluate } from "./evaluate.js";
import { batchNormSites, updateMovingStats } from "./moving-stats.js";
import { Optimizer, type ParamRef, scheduledLr } from "./optimizer.js";
import { createProgress, type Progress } from "./progress.js";
import { epochOrder } from "./seeding.js";
import type { StepModel } from "./step.js";
import {
  checkTrainConfig,
  type EpochMetrics,
  type RunSettings,
  runSettings,
  type TrainConfig,
  TrainError,
  type TrainResult,
} from "./train-config.js";
import {
  initialState,
  saveEpochCheckpoint,
  type TrainState,
  writeFinalMetrics,
} from "./train-state.js";

/** Everything one epoch needs, fixed for the whole run. */
interface RunContext {
  config: TrainConfig;
  settings: RunSettings;
  state: TrainState;
  engine: GradientEngine;
  optimizer: Optimizer;
  /** The trainable parameters (model, then "head.*") as the optimizer updates them. */
  refs: ParamRef[];
  bnSites: ReturnType<typeof batchNormSites>;
  batches: BatchSource;
  progress: Progress;
}

/** Model and head weights in one map, the head's under "head.<name>". */
function allWeights(state: TrainState): Weights {
  const out: Weights = { ...state.weights };
  for (const [name, w] of Object.entries(state.headWeights)) out[`head.${name}`] = w;
  return out;
}

function stepModel(config: TrainConfig): StepModel {
  const trainable = [
    ...modelParams(config.spec)
      .filter((p) => p.trainable)
      .map((p) => p.name),
    ...(config.head?.params ?? []).map((p) => `head.${p.name}`),
  ];
  return { spec: config.spec, classes: config.train.classes.length, head: config.head, trainable };
}

function paramRefs(state: TrainState, trainable: string[]): ParamRef[] {
  const merged = allWeights(state);
  return trainable.map((name) => {
    const w = merged[name];
    return { name, data: w.data, rank: w.shape.length };
  });
}

/** One epoch of steps; undefined when the signal stopped it (the epoch is then dropped). */
async function trainEpoch(run: RunContext, epoch: number): Promise<EpochMetrics | undefined> {
  const { config, settings, state, batches, progress } = run;
  const { data } = batches;
  const steps = stepsPerEpoch(batches);
  const totalSteps = steps * config.epochs;
  const order = epochOrder(data.count, settings.seed, epoch);
  const started = performance.now();
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let lr = config.lr;
  progress.start(epoch + 1, config.epochs, data.count);
  for (let step = 0; step < steps; step++) {
    if (config.signal?.aborted) {
      progress.interrupt();
      return undefined;
    }
    const batch = makeBatch(batches, order, epoch, step);
    const result = await run.engine.compute(allWeights(state), batch);
    if (!Number.isFinite(result.loss)) {
      throw new TrainError(
        `loss became ${result.loss} at epoch ${epoch + 1}, step ${step + 1}; lower --lr`,
      );
    }
    lr = scheduledLr(settings.schedule, config.lr, epoch * steps + step, totalSteps);
    run.optimizer.apply(run.refs, result.grads, lr);
    updateMovingStats(state.weights, run.bnSites, result.batchStats, batch.count);
    lossSum += result.loss * result.count;
    correct += result.correct;
    seen += result.count;
    progress.update(seen, lossSum / seen, correct / seen);
  }
  const seconds = (performance.now() - started) / 1000;
  const test = config.test
    ? evaluate(config.spec, state.weights, config.test, {
        batchSize: Math.max(config.batchSize, 256),
        head: config.head,
        headWeights: state.headWeights,
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
  progress.finish({
    epoch: epoch + 1,
    epochs: config.epochs,
    images: seen,
    seconds,
    loss: metrics.loss,
    accuracy: metrics.accuracy,
    test,
  });
  return metrics;
}

/** Trains spec on train; returns the final weights and metrics (see TrainConfig). */
export async function train(config: TrainConfig): Promise<TrainResult> {
  checkTrainConfig(config);
  if (!activeBackend()) await initBackend();
  const { spec } = config;
  const settings = runSettings(config);
  const optimizer = new Optimizer({
    kind: settings.optimizer,
    momentum: settings.momentum,
    weightDecay: settings.weightDecay,
  });
  const checkpointPath = config.outDir ? join(config.outDir, CHECKPOINT_FILE) : undefined;
  const metricsPath = config.outDir ? join(config.outDir, METRICS_FILE) : undefined;
  const state = await initialState(config, settings, optimizer, checkpointPath);
  const model = stepModel(config);
  const engineKind = resolveEngine(config.engine ?? "tfjs", model);
  const engine = await createGradientEngine(model, allWeights(state), settings.workers, engineKind);
  const run: RunContext = {
    config,
    settings,
    state,
    engine,
    optimizer,
    refs: paramRefs(state, model.trainable),
    bnSites: batchNormSites(spec.layers, spec.input),
    batches: {
      data: config.train,
      input: spec.input,
      batchSize: config.batchSize,
      seed: settings.seed,
      augment: config.augment,
      resize: config.resizeBatches,
    },
    progress: createProgress(config.progress),
  };
  let epochsDone = state.startEpoch;
  try {
    while (epochsDone < config.epochs && !config.signal?.aborted) {
      const metrics = await trainEpoch(run, epochsDone);
      if (!metrics) break;
      state.history.push(metrics);
      epochsDone++;
      if (checkpointPath) {
        await saveEpochCheckpoint(checkpointPath, spec, state, optimizer, epochsDone, settings);
      }
      if (config.outDir) await writeCurves(config.outDir, state.history, spec.name);
      await config.onEpoch?.(metrics);
    }
  } finally {
    await engine.close();
  }
  const finished = epochsDone === config.epochs;
  if (metricsPath && finished) await writeFinalMetrics(metricsPath, spec, settings, state.history);
  return {
    spec,
    weights: state.weights,
    headWeights: state.headWeights,
    history: state.history,
    final: finished ? state.history.at(-1)?.test : undefined,
    epochsDone,
    interrupted: epochsDone < config.epochs,
    checkpointPath,
    metricsPath,
  };
}
