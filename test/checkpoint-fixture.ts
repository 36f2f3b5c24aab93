// A trainer checkpoint as a test needs one: a spec and its weights, no training history.
import type { ModelSpec } from "../src/nn/spec.js";
import type { Weights } from "../src/nn/weights.js";
import { saveCheckpoint } from "../src/train/checkpoint.js";

export function saveFreshCheckpoint(
  path: string,
  spec: ModelSpec,
  weights: Weights,
): Promise<void> {
  return saveCheckpoint(path, {
    spec,
    weights,
    headWeights: {},
    optimizer: { step: 0, slots: {} },
    epoch: 1,
    config: {},
    metrics: [],
    rng: { seed: 0, scheme: "test" },
  });
}
