// Training heads for embedders: a linear classifier (cross-entropy) or ArcFace on the pooled
// embedding. Only the embedding is kept for serving; the head lives in checkpoints as "head.*".

import { arcfaceCosines, arcfaceLogits } from "../nn/arcface.js";
import type { ParamTensors } from "../nn/forward.js";
import * as tf from "../nn/tf.js";
import { softmaxCrossEntropy, type TrainHead } from "./losses.js";

export type EmbedderLoss = "ce" | "arcface";

export interface EmbedderHeadOptions {
  loss: EmbedderLoss;
  embeddingSize: number;
  classes: number;
  /** ArcFace scale s and margin m (radians). */
  scale?: number;
  margin?: number;
  easyMargin?: boolean;
}

function linearLogits(output: tf.Tensor, p: ParamTensors): tf.Tensor2D {
  return tf.add(tf.matMul(output as tf.Tensor2D, p.kernel as tf.Tensor2D), p.bias) as tf.Tensor2D;
}

/** The head for `--loss`; workers rebuild it through `source` (this module, this factory). */
export function embedderHead(options: EmbedderHeadOptions): TrainHead {
  const { loss, embeddingSize: d, classes } = options;
  const source = { module: import.meta.url, factory: "embedderHead", options };
  if (loss === "ce") {
    return {
      params: [
        { name: "kernel", shape: [d, classes], trainable: true, init: "glorotUniform", fanIn: d },
        { name: "bias", shape: [classes], trainable: true, init: "zeros", fanIn: d },
      ],
      loss: (output, oneHot, p) => softmaxCrossEntropy(linearLogits(output, p), oneHot),
      logits: linearLogits,
      source,
      form: { kind: "linear" },
    };
  }
  const arc = {
    scale: options.scale ?? 64,
    margin: options.margin ?? 0.5,
    easyMargin: options.easyMargin ?? false,
  };
  return {
    params: [
      { name: "weight", shape: [d, classes], trainable: true, init: "glorotUniform", fanIn: d },
    ],
    loss: (output, oneHot, p) =>
      softmaxCrossEntropy(
        arcfaceLogits(arcfaceCosines(output as tf.Tensor2D, p.weight as tf.Tensor2D), oneHot, arc),
        oneHot,
      ),
    logits: (output, p) =>
      tf.mul(
        arcfaceCosines(output as tf.Tensor2D, p.weight as tf.Tensor2D),
        arc.scale,
      ) as tf.Tensor2D,
    source,
    form: { kind: "arcface", ...arc },
  };
}
