// Test accuracy of several dense kernels (e.g. pruned copies) on the same direct-expansion
// features: the monomials of each batch are built once and multiplied by every kernel.

import type { Dataset } from "../data/dataset.js";
import type { Normalization } from "../data/normalize.js";
import { monomialFeaturesArray } from "../nn/taylor-direct.js";
import * as tf from "../nn/tf.js";

export function accuracyOfKernels(
  data: Dataset,
  order: number,
  norm: Normalization,
  kernels: Float32Array[],
  bias: Float32Array,
  batchSize = 128,
): number[] {
  const vars = data.height * data.width * data.channels;
  const classes = bias.length;
  const terms = kernels[0].length / classes;
  const correct = new Array(kernels.length).fill(0);
  const ws = kernels.map((k) => tf.tensor2d(k, [terms, classes]));
  const b = tf.tensor1d(bias);
  const x = new Float32Array(batchSize * vars);
  const features = new Float32Array(batchSize * terms);
  try {
    for (let start = 0; start < data.count; start += batchSize) {
      const n = Math.min(batchSize, data.count - start);
      for (let i = 0; i < n * vars; i++) {
        const c = i % data.channels;
        x[i] = (data.images[start * vars + i] - norm.mean[c]) / norm.std[c];
      }
      monomialFeaturesArray(x, n, vars, order, features);
      const predictions = tf.tidy(() => {
        const f = tf.tensor2d(features.subarray(0, n * terms), [n, terms]);
        return tf.stack(ws.map((w) => tf.argMax(tf.add(tf.matMul(f, w), b), 1)));
      });
      const labels = predictions.dataSync();
      predictions.dispose();
      for (let k = 0; k < kernels.length; k++) {
        for (let i = 0; i < n; i++) if (labels[k * n + i] === data.labels[start + i]) correct[k]++;
      }
    }
  } finally {
    tf.dispose([...ws, b]);
  }
  return correct.map((c) => c / data.count);
}
