// The benchmark models by name (bench/train.ts, bench/train-ort-step.ts): specs imported lazily.
import type { ModelSpec } from "../src/nn/spec.js";

export type SpecFactory = () => Promise<ModelSpec>;

/** A 28×28 MNIST ResNet with a 10-class linear head on the embedding, as train-embedder's cross-entropy head trains. */
async function resnetWithLinearHead(depth: 18 | 50, width: number): Promise<ModelSpec> {
  const embedder = (await import("../src/nn/resnet.js")).resnetSpec({
    depth,
    width,
    input: [28, 28, 1],
    mean: [0.1307],
    std: [0.3081],
  });
  return {
    ...embedder,
    output: "logits",
    layers: [...embedder.layers, { kind: "dense", units: 10 }],
  };
}

/** Benchmark models by name; add entries here (TaylorNet/ResNet specs are imported lazily). */
export const MODELS: Record<string, SpecFactory> = {
  conv64: async () => ({
    name: "conv64",
    input: [28, 28, 64],
    output: "logits",
    layers: [
      { kind: "conv2d", filters: 64, kernel: 3, padding: "same" },
      { kind: "relu" },
      { kind: "conv2d", filters: 64, kernel: 3, padding: "same" },
      { kind: "relu" },
      { kind: "globalAvgPool" },
      { kind: "dense", units: 10 },
    ],
  }),
  mnist7: async () => (await import("../src/nn/taylornet.js")).taylorNetSpec("mnist7"),
  mnist28: async () => (await import("../src/nn/taylornet.js")).taylorNetSpec("mnist28"),
  "taylor-direct4": async () => (await import("../src/nn/taylor-direct.js")).taylorDirectSpec(4),
  "resnet18-w16": () => resnetWithLinearHead(18, 16),
  "resnet50-w8": () => resnetWithLinearHead(50, 8),
  "resnet50-w16": () => resnetWithLinearHead(50, 16),
};
