// The in-memory labelled image set every reader produces and every trainer consumes, with
// deterministic shuffling, subsets and splits.
import { permutation, rng } from "../util/random.js";

/** NHWC float pixels in [0, 1]; labels are class indices into `classes`. */
export interface Dataset {
  name: string;
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: string[];
  /** How the images were made from pictures (a preprocessing record, see preprocess.ts), when known. */
  preprocessing?: Record<string, unknown>;
}

export function imageSize(d: Pick<Dataset, "height" | "width" | "channels">): number {
  return d.height * d.width * d.channels;
}

/** A deterministic permutation of 0..n-1 (Fisher–Yates driven by a seeded PRNG). */
export function shuffledIndices(n: number, seed: number): Uint32Array {
  return permutation(n, rng(seed));
}

/** Images and labels of the given examples, in the given order, copied into new arrays. */
export function batchOf(
  d: Dataset,
  indices: ArrayLike<number>,
): { images: Float32Array; labels: Uint8Array; count: number } {
  const size = imageSize(d);
  const images = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!(i >= 0 && i < d.count))
      throw new RangeError(`${d.name}: index ${i} outside 0..${d.count - 1}`);
    images.set(d.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = d.labels[i];
  }
  return { images, labels, count: indices.length };
}

export function subset(d: Dataset, indices: ArrayLike<number>): Dataset {
  return { ...d, ...batchOf(d, indices) };
}

/** The first n examples (all of them when n ≥ count). */
export function take(d: Dataset, n: number): Dataset {
  const count = Math.max(0, Math.min(Math.floor(n), d.count));
  const size = imageSize(d);
  return {
    ...d,
    images: d.images.slice(0, count * size),
    labels: d.labels.slice(0, count),
    count,
  };
}

/**
 * A seeded random split: `fraction` of the examples (rounded) go to validation. Each part
 * keeps the original order of its examples.
 */
export function trainValidationSplit(
  d: Dataset,
  fraction: number,
  seed: number,
): { train: Dataset; validation: Dataset } {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`validation fraction ${fraction} must be in [0, 1)`);
  }
  const order = shuffledIndices(d.count, seed);
  const nValidation = Math.round(d.count * fraction);
  const validation = order.slice(0, nValidation).sort();
  const train = order.slice(nValidation).sort();
  return { train: subset(d, train), validation: subset(d, validation) };
}

/** Example indices of each class, in dataset order. */
export function indicesByClass(d: Dataset): number[][] {
  const out: number[][] = d.classes.map(() => []);
  for (let i = 0; i < d.count; i++) out[d.labels[i]].push(i);
  return out;
}
