// One training batch from the epoch's order: the images and labels gathered, augmented at the
// data's resolution with the (seed, epoch, step) generator, then resized to the model's input.
import type { Augment } from "../data/augment.js";
import { type Dataset, imageSize } from "../data/dataset.js";
import { type ResizeMethod, resizeImages } from "../data/resize.js";
import { rng } from "../util/random.js";
import { mix } from "./seeding.js";
import type { Batch } from "./step.js";

export interface BatchSource {
  data: Dataset;
  /** [H, W] of the model's input. */
  input: readonly number[];
  batchSize: number;
  seed: number;
  augment?: Augment;
  resize?: ResizeMethod;
}

/** Batches per epoch (the last one may be short). */
export function stepsPerEpoch(source: Pick<BatchSource, "data" | "batchSize">): number {
  return Math.ceil(source.data.count / source.batchSize);
}

/** Batch `step` of an epoch whose example order is `order`. */
export function makeBatch(
  source: BatchSource,
  order: Uint32Array,
  epoch: number,
  step: number,
): Batch {
  const { data, batchSize } = source;
  const perImage = imageSize(data);
  const idx = order.subarray(step * batchSize, Math.min(data.count, (step + 1) * batchSize));
  const batch: Batch = {
    images: new Float32Array(idx.length * perImage),
    labels: new Uint8Array(idx.length),
    count: idx.length,
  };
  for (let i = 0; i < idx.length; i++) {
    batch.images.set(
      data.images.subarray(idx[i] * perImage, (idx[i] + 1) * perImage),
      i * perImage,
    );
    batch.labels[i] = data.labels[idx[i]];
  }
  const dataShape: [number, number, number] = [data.height, data.width, data.channels];
  source.augment?.(batch.images, batch.count, dataShape, rng(mix(source.seed, epoch, step + 1)));
  const [h, w] = source.input;
  if (data.height !== h || data.width !== w) {
    batch.images = resizeImages(
      batch.images,
      batch.count,
      data.height,
      data.width,
      data.channels,
      h,
      w,
      source.resize,
    );
  }
  return batch;
}
