// Per-channel normalisation constants of the data sets; models apply them inside their graph
// (a leading `normalize` layer), so pixels stay raw [0, 1] everywhere else.
import type { Dataset } from "./dataset.js";
import { DataError } from "./errors.js";

export interface Normalization {
  mean: number[];
  std: number[];
}

export const MNIST_NORMALIZATION: Normalization = { mean: [0.1307], std: [0.3081] };
export const FASHION_NORMALIZATION: Normalization = { mean: [0.286], std: [0.353] };
export const CIFAR10_NORMALIZATION: Normalization = {
  mean: [0.4914, 0.4822, 0.4465],
  std: [0.247, 0.2435, 0.2616],
};

/** Per-channel mean and standard deviation of a dataset's pixels. */
export function computeNormalization(d: Dataset): Normalization {
  const sum = new Float64Array(d.channels);
  const sq = new Float64Array(d.channels);
  for (let i = 0; i < d.images.length; i++) {
    const v = d.images[i];
    sum[i % d.channels] += v;
    sq[i % d.channels] += v * v;
  }
  const n = d.images.length / d.channels;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / n - mean[c] ** 2, 0)) || 1);
  return { mean, std };
}

/**
 * The constants for a data set name as loadDataset names them. MNIST's constants serve
 * mnist7 too (area averaging keeps the mean). Other names (idx:DIR) need `data`, from
 * which the statistics are computed.
 */
export function normalizationFor(name: string, data?: Dataset): Normalization {
  if (name === "mnist" || name.startsWith("mnist7")) return MNIST_NORMALIZATION;
  if (name === "fashion" || name.startsWith("fashion7")) return FASHION_NORMALIZATION;
  if (name === "cifar10") return CIFAR10_NORMALIZATION;
  if (data) return computeNormalization(data);
  throw new DataError("", `no normalisation constants for data set "${name}"; pass its data`);
}

/** (x - mean) / std per channel, into a new array; for code outside a model graph. */
export function applyNormalization(
  images: Float32Array,
  channels: number,
  norm: Normalization,
): Float32Array {
  if (norm.mean.length !== channels || norm.std.length !== channels) {
    throw new RangeError(`normalisation has ${norm.mean.length} channels, images have ${channels}`);
  }
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const c = i % channels;
    out[i] = (images[i] - norm.mean[c]) / norm.std[c];
  }
  return out;
}
