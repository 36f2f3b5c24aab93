// The state a training run carries from epoch to epoch: started fresh or restored from the
// checkpoint (refused when it belongs to another run), saved after each epoch, and the final
// metrics.json.
import { existsSync } from "node:fs";
import type { ModelSpec } from "../nn/spec.js";
import { initWeights, type Weights } from "../nn/weights.js";
import { writeJsonAtomic } from "../util/atomic-write.js";
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import type { Optimizer } from "./optimizer.js";
import { initHeadWeights } from "./seeding.js";
import {
  type EpochMetrics,
  type RunSettings,
  type TrainConfig,
  TrainError,
} from "./train-config.js";

export interface TrainState {
  weights: Weights;
  headWeights: Weights;
  history: EpochMetrics[];
  /** Whole epochs done before this call. */
  startEpoch: number;
}

function copyWeights(w: Weights): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(w))
    out[name] = { shape: [...t.shape], data: t.data.slice() };
  return out;
}

/** Fresh weights (or config.initialWeights), or the checkpoint's state when resuming. */
export async function initialState(
  config: TrainConfig,
  settings: RunSettings,
  optimizer: Optimizer,
  checkpointPath: string | undefined,
): Promise<TrainState> {
  const { spec } = config;
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
    optimizer.load(ckpt.optimizer);
    return {
      weights: ckpt.weights,
      headWeights: ckpt.headWeights,
      history: ckpt.metrics as EpochMetrics[],
      startEpoch: ckpt.epoch,
    };
  }
  return {
    weights: config.initialWeights
      ? copyWeights(config.initialWeights)
      : initWeights(spec, settings.seed),
    headWeights: initHeadWeights(config.head, settings.seed),
    history: [],
    startEpoch: 0,
  };
}

/** The checkpoint after `epoch` whole epochs (atomic). */
export function saveEpochCheckpoint(
  path: string,
  spec: ModelSpec,
  state: TrainState,
  optimizer: Optimizer,
  epoch: number,
  settings: RunSettings,
): Promise<void> {
  return saveCheckpoint(path, {
    spec,
    weights: state.weights,
    headWeights: state.headWeights,
    optimizer: optimizer.state(),
    epoch,
    config: settings,
    metrics: state.history,
    rng: {
      seed: settings.seed,
      scheme: "mulberry32; order: Fisher-Yates(seed, epoch); augment: (seed, epoch, step)",
    },
  });
}

/** metrics.json of a finished run. */
export function writeFinalMetrics(
  path: string,
  spec: ModelSpec,
  settings: RunSettings,
  history: EpochMetrics[],
): Promise<void> {
  return writeJsonAtomic(path, {
    model: spec.name,
    checkpoint: CHECKPOINT_FILE,
    epochs: settings.epochs,
    config: settings,
    test: history.at(-1)?.test ?? null,
    train: history.at(-1) ?? null,
    history,
    createdAt: new Date().toISOString(),
  });
}
