// One gradient computation on one batch (or shard): the unit of work that the trainer runs
// in-thread or spreads over worker threads. Inputs and outputs are plain Float32Arrays.

import { forward, type ParamTensors } from "../nn/forward.js";
import type { ModelSpec } from "../nn/spec.js";
import * as tf from "../nn/tf.js";
import type { Weights } from "../nn/weights.js";
import { countCorrect, headLogits, headLoss, type TrainHead } from "./losses.js";

export interface Batch {
  /** NHWC pixels of `count` images. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

export interface BatchStats {
  mean: Float32Array;
  variance: Float32Array;
}

export interface StepResult {
  /** Mean loss over the batch. */
  loss: number;
  correct: number;
  count: number;
  /** By trainable parameter name (head parameters as "head.<name>"). */
  grads: Record<string, Float32Array>;
  /** Batch-norm batch statistics by layer path (training-mode forward). */
  batchStats: Record<string, BatchStats>;
}

export interface StepModel {
  spec: ModelSpec;
  classes: number;
  head?: TrainHead;
  /** Names of the trainable parameters, model ones then "head.<name>". */
  trainable: string[];
}

export function toTensors(weights: Weights, prefix = ""): ParamTensors {
  const out: ParamTensors = {};
  for (const [name, w] of Object.entries(weights)) {
    if (name.startsWith(prefix)) out[name.slice(prefix.length)] = tf.tensor(w.data, w.shape);
  }
  return out;
}

/** Splits "head.<name>" entries from model entries. */
function splitHead(params: ParamTensors): { model: ParamTensors; head: ParamTensors } {
  const model: ParamTensors = {};
  const head: ParamTensors = {};
  for (const [name, t] of Object.entries(params)) {
    if (name.startsWith("head.")) head[name.slice(5)] = t;
    else model[name] = t;
  }
  return { model, head };
}

/** Loss, accuracy count, gradients and batch statistics of one batch. */
export function computeGradients(model: StepModel, weights: Weights, batch: Batch): StepResult {
  const { spec, head, trainable, classes } = model;
  const [h, w, c] = spec.input;
  const kept: tf.Tensor[] = [];
  const stats: Record<string, { mean: tf.Tensor; variance: tf.Tensor }> = {};
  const out = tf.tidy(() => {
    const params = toTensors(weights);
    const x = tf.tensor4d(batch.images, [batch.count, h, w, c]);
    const labels = tf.tensor1d(Int32Array.from(batch.labels), "int32");
    const oneHot = tf.cast(tf.oneHot(labels, classes), "float32") as tf.Tensor2D;
    let logits: tf.Tensor2D | undefined;
    const f = (...ts: tf.Tensor[]) => {
      const p: ParamTensors = { ...params };
      trainable.forEach((name, i) => {
        p[name] = ts[i];
      });
      const split = splitHead(p);
      const output = forward(spec, split.model, x, { training: true, batchStats: stats });
      for (const s of Object.values(stats)) kept.push(tf.keep(s.mean), tf.keep(s.variance));
      logits = tf.keep(headLogits(output, head, split.head));
      kept.push(logits);
      return headLoss(output, oneHot, head, split.head);
    };
    const { value, grads } = tf.valueAndGrads(f)(trainable.map((n) => params[n]));
    const correct = countCorrect(logits as tf.Tensor2D, labels);
    return { value, grads, correct };
  });
  try {
    const grads: Record<string, Float32Array> = {};
    trainable.forEach((name, i) => {
      const g = out.grads[i];
      grads[name] = g
        ? (g.dataSync() as Float32Array)
        : new Float32Array(weights[name].data.length);
    });
    const batchStats: Record<string, BatchStats> = {};
    for (const [path, s] of Object.entries(stats)) {
      batchStats[path] = {
        mean: s.mean.dataSync() as Float32Array,
        variance: s.variance.dataSync() as Float32Array,
      };
    }
    return {
      loss: out.value.dataSync()[0],
      correct: out.correct.dataSync()[0],
      count: batch.count,
      grads,
      batchStats,
    };
  } finally {
    tf.dispose([out.value, out.correct, ...out.grads]);
    tf.dispose(kept);
  }
}
