// Training checkpoints: one safetensors file (written atomically) holding the model weights,
// the head's weights ("head.<name>"), the optimizer slots ("optimizer.<slot>") and, in its
// metadata, the spec, the epoch reached, the config, the metrics so far and the RNG scheme.

import type { ModelSpec } from "../nn/spec.js";
import { checkWeights, type Weights } from "../nn/weights.js";
import { loadSafetensors, saveSafetensors } from "../util/safetensors.js";
import type { OptimizerState } from "./optimizer.js";

export const CHECKPOINT_FORMAT = "cgnn-checkpoint/1";
export const CHECKPOINT_FILE = "checkpoint.safetensors";
export const METRICS_FILE = "metrics.json";

export interface Checkpoint {
  spec: ModelSpec;
  /** The model's parameters (spec names), including batch-norm moving statistics. */
  weights: Weights;
  /** The training head's parameters by their own names (empty without a head). */
  headWeights: Weights;
  optimizer: OptimizerState;
  /** Completed epochs. */
  epoch: number;
  config: Record<string, unknown>;
  metrics: unknown[];
  /** How the data order and augmentation derive from the seed (nothing else is random). */
  rng: { seed: number; scheme: string };
}

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  const tensors: Weights = { ...ckpt.weights };
  for (const [name, w] of Object.entries(ckpt.headWeights)) tensors[`head.${name}`] = w;
  for (const [slot, data] of Object.entries(ckpt.optimizer.slots)) {
    tensors[`optimizer.${slot}`] = { shape: [data.length], data };
  }
  await saveSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    spec: JSON.stringify(ckpt.spec),
    epoch: String(ckpt.epoch),
    config: JSON.stringify(ckpt.config),
    metrics: JSON.stringify(ckpt.metrics),
    rng: JSON.stringify(ckpt.rng),
    optimizerStep: String(ckpt.optimizer.step),
  });
}

function parseJson<T>(path: string, key: string, text: string | undefined): T {
  if (text === undefined) throw new CheckpointError(`${path}: metadata has no "${key}"`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CheckpointError(`${path}: metadata "${key}" is not valid JSON`);
  }
}

/** Reads and validates a checkpoint; errors name the file. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let file: Awaited<ReturnType<typeof loadSafetensors>>;
  try {
    file = await loadSafetensors(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CheckpointError(`${path}: no such checkpoint`);
    throw new CheckpointError((error as Error).message);
  }
  const { weights: tensors, metadata } = file;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${path}: not a cgnn checkpoint (format ${metadata.format ?? "missing"}, expected ${CHECKPOINT_FORMAT})`,
    );
  }
  const spec = parseJson<ModelSpec>(path, "spec", metadata.spec);
  const weights: Weights = {};
  const headWeights: Weights = {};
  const slots: Record<string, Float32Array> = {};
  for (const [name, w] of Object.entries(tensors)) {
    if (name.startsWith("head.")) headWeights[name.slice(5)] = w;
    else if (name.startsWith("optimizer.")) slots[name.slice(10)] = w.data;
    else weights[name] = w;
  }
  try {
    checkWeights(spec, weights);
  } catch (error) {
    throw new CheckpointError(`${path}: ${(error as Error).message}`);
  }
  return {
    spec,
    weights,
    headWeights,
    optimizer: { step: Number(metadata.optimizerStep ?? 0), slots },
    epoch: Number(metadata.epoch ?? 0),
    config: parseJson(path, "config", metadata.config),
    metrics: parseJson(path, "metrics", metadata.metrics),
    rng: parseJson(path, "rng", metadata.rng),
  };
}
