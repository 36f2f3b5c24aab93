// A trained embedder read back from a trainer's checkpoint: its spec, its model weights (the
// training head dropped) and the size of the embedding it produces.
import type { ModelSpec } from "../nn/spec.js";
import { outputShape } from "../nn/spec.js";
import type { Weights } from "../nn/weights.js";
import { loadCheckpoint } from "../train/checkpoint.js";

export interface Embedder {
  spec: ModelSpec;
  weights: Weights;
  dim: number;
  /** Epochs the checkpoint was trained for, and its training config. */
  epoch: number;
  config: Record<string, unknown>;
}

export async function loadEmbedder(path: string): Promise<Embedder> {
  const ckpt = await loadCheckpoint(path);
  if (ckpt.spec.output !== "embedding") {
    throw new Error(`${path}: ${ckpt.spec.name} outputs ${ckpt.spec.output}, not an embedding`);
  }
  const shape = outputShape(ckpt.spec);
  if (shape.length !== 1) throw new Error(`${path}: embedding shape [${shape}] is not flat`);
  return {
    spec: ckpt.spec,
    weights: ckpt.weights,
    dim: shape[0],
    epoch: ckpt.epoch,
    config: ckpt.config,
  };
}
