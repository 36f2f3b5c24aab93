// ArcFace (additive angular margin) logits: cosines between the normalised embedding and
// normalised class weights, with the target's angle widened by the margin before scaling.
import * as tf from "./tf.js";

export interface ArcFaceOptions {
  /** s: the radius of the hypersphere the logits live on (64 in the paper's setting). */
  scale: number;
  /** m: the additive angular margin in radians (0.5). */
  margin: number;
  /** Apply the margin only where cos θ > 0 (else the threshold fallback cos θ − m·sin m). */
  easyMargin?: boolean;
}

/** Cosines [N, C] between rows of `embedding` [N, D] and columns of `weights` [D, C]. */
export function arcfaceCosines(embedding: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D {
  const e = tf.div(embedding, tf.maximum(tf.norm(embedding, "euclidean", 1, true), 1e-12));
  const w = tf.div(weights, tf.maximum(tf.norm(weights, "euclidean", 0, true), 1e-12));
  return tf.clipByValue(tf.matMul(e as tf.Tensor2D, w as tf.Tensor2D), -1, 1) as tf.Tensor2D;
}

/**
 * s·cos(θ + m) for the target class and s·cos θ for the others (insightface's form). Where
 * θ + m would pass π (cos θ ≤ cos(π − m)) the target logit falls back to cos θ − m·sin m, so
 * that it keeps decreasing in θ; with `easyMargin` the margin applies only where cos θ > 0.
 */
export function arcfaceLogits(
  cosines: tf.Tensor2D,
  oneHot: tf.Tensor2D,
  options: ArcFaceOptions,
): tf.Tensor2D {
  const { scale, margin } = options;
  const sine = tf.sqrt(tf.clipByValue(tf.sub(1, tf.square(cosines)), 1e-7, 1));
  const widened = tf.sub(tf.mul(cosines, Math.cos(margin)), tf.mul(sine, Math.sin(margin)));
  const threshold = options.easyMargin ? 0 : Math.cos(Math.PI - margin);
  const fallback = options.easyMargin ? cosines : tf.sub(cosines, Math.sin(margin) * margin);
  const inRange = tf.step(tf.sub(cosines, threshold));
  const target = tf.add(tf.mul(inRange, widened), tf.mul(tf.sub(1, inRange), fallback));
  const mixed = tf.add(tf.mul(oneHot, target), tf.mul(tf.sub(1, oneHot), cosines));
  return tf.mul(mixed, scale) as tf.Tensor2D;
}
