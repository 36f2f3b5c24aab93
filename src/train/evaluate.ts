// Inference-mode passes over many images in batches: accuracy/loss of a classifier (or of a
// head's logits) and the raw outputs (embeddings) for extraction.

import type { Dataset } from "../data/dataset.js";
import { forward } from "../nn/forward.js";
import { type ModelSpec, outputShape } from "../nn/spec.js";
import * as tf from "../nn/tf.js";
import type { Weights } from "../nn/weights.js";
import { countCorrect, headLogits, headLoss, type TrainHead } from "./losses.js";
import { toTensors } from "./step.js";

export interface EvalOptions {
  batchSize?: number;
  head?: TrainHead;
  headWeights?: Weights;
}

export interface EvalResult {
  accuracy: number;
  /** Mean loss (cross-entropy, or the head's loss). */
  loss: number;
  count: number;
}

function checkImages(spec: ModelSpec, images: Float32Array, count: number): number {
  const size = spec.input[0] * spec.input[1] * spec.input[2];
  if (images.length < count * size) {
    throw new Error(
      `${spec.name}: ${count} images of ${spec.input.join("×")} need ${count * size} values, got ${images.length}`,
    );
  }
  return size;
}

/** Calls fn with each batch's parameters and input tensor; fn runs inside tf.tidy. */
function forBatches(
  spec: ModelSpec,
  weights: Weights,
  images: Float32Array,
  count: number,
  batchSize: number,
  fn: (x: tf.Tensor4D, start: number, n: number, params: ReturnType<typeof toTensors>) => void,
): void {
  const size = checkImages(spec, images, count);
  const params = toTensors(weights);
  try {
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      tf.tidy(() => {
        const x = tf.tensor4d(images.subarray(start * size, (start + n) * size), [
          n,
          ...spec.input,
        ]);
        fn(x, start, n, params);
      });
    }
  } finally {
    tf.dispose(Object.values(params));
  }
}

/** Accuracy and mean loss on a labelled data set (inference mode: moving batch-norm stats). */
export function evaluate(
  spec: ModelSpec,
  weights: Weights,
  dataset: Dataset,
  options: EvalOptions = {},
): EvalResult {
  const classes = dataset.classes.length;
  const headParams = toTensors(options.headWeights ?? {});
  let lossSum = 0;
  let correct = 0;
  try {
    forBatches(
      spec,
      weights,
      dataset.images,
      dataset.count,
      options.batchSize ?? 256,
      (x, start, n, params) => {
        const labels = tf.tensor1d(
          Int32Array.from(dataset.labels.subarray(start, start + n)),
          "int32",
        );
        const oneHot = tf.cast(tf.oneHot(labels, classes), "float32") as tf.Tensor2D;
        const output = forward(spec, params, x, { training: false });
        const loss = headLoss(output, oneHot, options.head, headParams);
        const hit = countCorrect(headLogits(output, options.head, headParams), labels);
        lossSum += loss.dataSync()[0] * n;
        correct += hit.dataSync()[0];
      },
    );
  } finally {
    tf.dispose(Object.values(headParams));
  }
  const count = dataset.count;
  return { accuracy: count ? correct / count : 0, loss: count ? lossSum / count : 0, count };
}

/** The model's outputs (logits or embeddings), row-major [count, outputSize]. */
export function predict(
  spec: ModelSpec,
  weights: Weights,
  images: Float32Array,
  count: number,
  options: { batchSize?: number } = {},
): Float32Array {
  const width = outputShape(spec).reduce((a, b) => a * b, 1);
  const out = new Float32Array(count * width);
  forBatches(spec, weights, images, count, options.batchSize ?? 256, (x, start, _n, params) => {
    const y = forward(spec, params, x, { training: false });
    out.set(y.dataSync() as Float32Array, start * width);
  });
  return out;
}

/** Embeddings of `count` NHWC images: the spec's output per image (predict on an embedder). */
export const embed: typeof predict = predict;
