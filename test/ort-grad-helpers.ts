// Shared pieces of the ORT-versus-tfjs gradient tests: random weights with non-trivial
// affine parameters, random batches, and the 1e-4 relative comparison.
import assert from "node:assert/strict";
import type { ModelSpec } from "../src/nn/spec.js";
import { initWeights, type Weights } from "../src/nn/weights.js";
import { type OrtEngineOptions, OrtGradients } from "../src/train/ort/engine.js";
import { computeGradients, type StepModel, type StepResult } from "../src/train/step.js";
import { rng } from "../src/util/random.js";

/** Random weights with non-trivial batch-norm affine parameters and biases. */
export function weightsFor(spec: ModelSpec, seed: number): Weights {
  const w = initWeights(spec, seed);
  const random = rng(seed + 1);
  for (const [name, t] of Object.entries(w)) {
    if (/\.(bias|beta|gamma)$/.test(name)) {
      for (let i = 0; i < t.data.length; i++) t.data[i] += 0.5 * (random() - 0.5);
    }
  }
  return w;
}

export function batchFor(spec: ModelSpec, count: number, classes: number, seed: number) {
  const random = rng(seed);
  const [h, w, c] = spec.input;
  return {
    images: Float32Array.from({ length: count * h * w * c }, random),
    labels: Uint8Array.from({ length: count }, () => Math.floor(random() * classes)),
    count,
  };
}

export function assertClose(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
  rel = 1e-4,
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
  }
  assert.ok(scale > 0, `${what}: the reference is all zeros`);
  // A bias right before batch norm has a true gradient of 0: its float noise (~1e-7) passes.
  assert.ok(diff <= rel * scale + 1e-6, `${what}: max diff ${diff} vs scale ${scale}`);
}

/** A tiny ResNet-shaped embedder (conv, batch norm, a strided residual block, global pooling). */
export function tinyEmbedderSpec(mean: number, std: number): ModelSpec {
  return {
    name: "tiny-embedder",
    input: [8, 8, 1],
    output: "embedding",
    layers: [
      { kind: "normalize", mean: [mean], std: [std] },
      { kind: "conv2d", filters: 4, kernel: 3, padding: 1, bias: false },
      { kind: "batchNorm" },
      { kind: "relu" },
      {
        kind: "residual",
        body: [
          { kind: "conv2d", filters: 6, kernel: 3, stride: 2, padding: 1, bias: false },
          { kind: "batchNorm" },
        ],
        shortcut: [{ kind: "conv2d", filters: 6, kernel: 1, stride: 2, bias: false }],
      },
      { kind: "relu" },
      { kind: "globalAvgPool" },
    ],
  };
}

/**
 * One step of `model` on ORT against tfjs's computeGradients on the same weights and batch: loss,
 * correct count, the set of gradients and each gradient to 1e-4, the set of batch statistics and each.
 */
export async function compareStepWithTfjs(
  model: StepModel,
  weights: Weights,
  batch: ReturnType<typeof batchFor>,
  options: OrtEngineOptions = {},
): Promise<StepResult> {
  const expected = computeGradients(model, weights, batch);
  const engine = await OrtGradients.create(model, { threads: 1, ...options });
  try {
    const actual = await engine.compute(weights, batch);
    assertClose(Float32Array.of(actual.loss), Float32Array.of(expected.loss), "loss");
    assert.equal(actual.correct, expected.correct);
    assert.deepEqual(Object.keys(actual.grads).sort(), [...model.trainable].sort());
    for (const name of model.trainable) assertClose(actual.grads[name], expected.grads[name], name);
    assert.deepEqual(
      Object.keys(actual.batchStats).sort(),
      Object.keys(expected.batchStats).sort(),
    );
    for (const [path, s] of Object.entries(expected.batchStats)) {
      assertClose(actual.batchStats[path].mean, s.mean, `${path} mean`);
      assertClose(actual.batchStats[path].variance, s.variance, `${path} variance`);
    }
    return actual;
  } finally {
    await engine.close();
  }
}
