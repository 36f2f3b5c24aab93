// Tiny specs of every architecture family and random non-trivial weights for the ONNX tests.

import { forward } from "../src/nn/forward.js";
import type { ModelSpec } from "../src/nn/spec.js";
import * as tf from "../src/nn/tf.js";
import { initWeights, type Weights } from "../src/nn/weights.js";
import { gaussian, rng } from "../src/util/random.js";

export const taylorLike = (shared: boolean): ModelSpec => ({
  name: `taylor-like-${shared ? "shared" : "full"}`,
  input: [12, 12, 2],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.1, 0.2], std: [0.3, 0.4] },
    { kind: "conv2d", filters: 3, kernel: 3, padding: "same" },
    { kind: "batchNorm" },
    { kind: "cg", filters: 4, kernel: 3, order: 2, stride: 2, padding: "same", shared },
    { kind: "batchNorm" },
    { kind: "cg", filters: 4, kernel: 2, order: 3, dilation: 3, shared },
    { kind: "batchNorm" },
    { kind: "cg", filters: 3, kernel: 2, order: 3, padding: 1, shared: !shared, bias: false },
    { kind: "relu" },
    { kind: "batchNorm", epsilon: 1e-3 },
    { kind: "flatten" },
    { kind: "batchNorm" },
    { kind: "dense", units: 10 },
  ],
});

export const directTaylor: ModelSpec = {
  name: "direct-taylor",
  input: [4, 4, 1],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.1307], std: [0.3081] },
    { kind: "monomials", order: 3 },
    { kind: "dense", units: 10 },
  ],
};

export const resnetLike: ModelSpec = {
  name: "resnet-like",
  input: [8, 8, 3],
  output: "embedding",
  layers: [
    { kind: "normalize", mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] },
    { kind: "conv2d", filters: 4, kernel: 3, padding: "same", bias: false },
    { kind: "batchNorm" },
    { kind: "relu" },
    {
      kind: "residual",
      body: [
        { kind: "conv2d", filters: 4, kernel: 3, padding: "same", bias: false },
        { kind: "batchNorm" },
        { kind: "relu" },
        { kind: "conv2d", filters: 4, kernel: 3, padding: "same", bias: false },
        { kind: "batchNorm" },
      ],
      shortcut: [],
    },
    { kind: "relu" },
    {
      kind: "residual",
      body: [
        { kind: "conv2d", filters: 6, kernel: 3, stride: 2, padding: "same", bias: false },
        { kind: "batchNorm" },
        { kind: "relu" },
        { kind: "conv2d", filters: 6, kernel: 3, padding: "same", bias: false },
        { kind: "batchNorm" },
      ],
      shortcut: [
        { kind: "conv2d", filters: 6, kernel: 1, stride: 2, bias: false },
        { kind: "batchNorm" },
      ],
    },
    { kind: "relu" },
    { kind: "globalAvgPool" },
  ],
};

export const convNetLike: ModelSpec = {
  name: "convnet-like",
  input: [10, 10, 1],
  output: "embedding",
  layers: [
    { kind: "normalize", mean: [0.1307], std: [0.3081] },
    { kind: "conv2d", filters: 4, kernel: 3, padding: 1 },
    { kind: "instanceNorm", affine: true },
    { kind: "relu" },
    { kind: "avgPool", size: 2 },
    { kind: "conv2d", filters: 4, kernel: 3, padding: "same", dilation: 2 },
    { kind: "instanceNorm" },
    { kind: "relu" },
    { kind: "avgPool", size: 2, stride: 2 },
    { kind: "flatten" },
    { kind: "dense", units: 5 },
    { kind: "l2normalize" },
  ],
};

/** Initial weights with every bias, affine and batch-norm statistic made random. */
export function randomWeights(spec: ModelSpec, seed: number): Weights {
  const weights = initWeights(spec, seed);
  const random = rng(seed + 1);
  const normal = gaussian(random);
  for (const [name, w] of Object.entries(weights)) {
    const last = name.split(".").at(-1);
    for (let i = 0; i < w.data.length; i++) {
      if (last === "movingVariance" || last === "gamma") w.data[i] = 0.5 + random();
      else if (last === "movingMean" || last === "beta" || last === "bias") {
        w.data[i] = 0.3 * normal();
      }
    }
  }
  return weights;
}

export function randomImages(n: number, shape: readonly number[], seed: number): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, random);
}

/**
 * Sets each batch norm's moving statistics near the batch statistics of `images` (randomly
 * perturbed), so activations keep a sane scale through deep polynomial stacks.
 */
export function calibrateBatchNorm(
  spec: ModelSpec,
  weights: Weights,
  images: Float32Array,
  n: number,
  seed: number,
): void {
  const random = rng(seed);
  const stats: Record<string, { mean: tf.Tensor; variance: tf.Tensor }> = {};
  const kept = tf.tidy(() => {
    const params = Object.fromEntries(
      Object.entries(weights).map(([k, w]) => [k, tf.tensor(w.data, w.shape)]),
    );
    forward(spec, params, tf.tensor(images, [n, ...spec.input]), {
      training: true,
      batchStats: stats,
    });
    return Object.values(stats).flatMap((s) => [s.mean, s.variance]);
  });
  for (const [path, { mean, variance }] of Object.entries(stats)) {
    const m = mean.dataSync();
    const v = variance.dataSync();
    const wm = weights[`${path}.movingMean`].data;
    const wv = weights[`${path}.movingVariance`].data;
    for (let i = 0; i < wm.length; i++) {
      wm[i] = m[i] + 0.1 * (random() - 0.5) * Math.sqrt(v[i]);
      wv[i] = v[i] * (0.8 + 0.4 * random());
    }
  }
  tf.dispose(kept);
}

/** The tfjs reference output of the spec (inference mode) for an NHWC batch. */
export function tfjsForward(spec: ModelSpec, weights: Weights, images: Float32Array, n: number) {
  const result = tf.tidy(() => {
    const params = Object.fromEntries(
      Object.entries(weights).map(([k, w]) => [k, tf.tensor(w.data, w.shape)]),
    );
    const x = tf.tensor(images, [n, ...spec.input]);
    return forward(spec, params, x, { training: false });
  });
  const data = result.dataSync() as Float32Array;
  result.dispose();
  return data;
}

/** max |a − b| relative to max(1, max |b|). */
export function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return a.length === b.length ? diff / scale : Number.POSITIVE_INFINITY;
}
