// The training objective: softmax cross-entropy on logits by default, or a pluggable head
// (e.g. ArcFace) with its own parameters, loss and logits.

import type { ParamTensors } from "../nn/forward.js";
import type { ParamInfo } from "../nn/spec.js";
import * as tf from "../nn/tf.js";

/**
 * A trainable head on the model's output. Its parameters are named freely (stored in
 * checkpoints under "head.<name>"). For data-parallel training (workers > 1) give `source`:
 * the worker threads rebuild the head by importing `module` and calling `factory(options)`.
 */
export interface TrainHead {
  params: ParamInfo[];
  /** Mean loss over the batch; oneHot is float32 [N, classes]. */
  loss(output: tf.Tensor, oneHot: tf.Tensor2D, params: ParamTensors): tf.Scalar;
  /** Class scores [N, classes] for accuracy (argmax) and evaluation. */
  logits(output: tf.Tensor, params: ParamTensors): tf.Tensor2D;
  source?: HeadSource;
  /**
   * The head as plain data, for engines that build their own graph (the ORT engine trains
   * only heads that give one): a linear classifier, or ArcFace with its settings.
   */
  form?: HeadForm;
}

export type HeadForm =
  | { kind: "linear" }
  | { kind: "arcface"; scale: number; margin: number; easyMargin: boolean };

export interface HeadSource {
  /** An absolute file URL or package specifier that the worker can import. */
  module: string;
  factory: string;
  options?: unknown;
}

/** Mean softmax cross-entropy of logits [N, C] against one-hot targets [N, C]. */
export function softmaxCrossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

export function headLoss(
  output: tf.Tensor,
  oneHot: tf.Tensor2D,
  head: TrainHead | undefined,
  headParams: ParamTensors,
): tf.Scalar {
  return head
    ? head.loss(output, oneHot, headParams)
    : softmaxCrossEntropy(output as tf.Tensor2D, oneHot);
}

export function headLogits(
  output: tf.Tensor,
  head: TrainHead | undefined,
  headParams: ParamTensors,
): tf.Tensor2D {
  return head ? head.logits(output, headParams) : (output as tf.Tensor2D);
}

/** Number of rows whose argmax equals the label. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "int32")) as tf.Scalar;
}
