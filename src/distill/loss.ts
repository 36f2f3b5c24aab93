// Eq. 5, the distillation loss: each synthetic image's embedding pulled towards the real
// images of its class (weight λ) and pushed from those of the other classes.
import * as tf from "@tensorflow/tfjs";

/**
 * Per-class sufficient statistics of the real embeddings: with them
 * d_αβ = Σ_{i∈β} |y_α − x_i|² = m_β|y_α|² − 2 y_α·S_β + Q_β, no [n, N] distance matrix needed.
 */
export interface ClassStats {
  /** S_β = Σ_{i∈β} f(X_β,i): [n, D] */
  sums: tf.Tensor2D;
  /** Q_β = Σ_{i∈β} |f(X_β,i)|²: [n] */
  sqNorms: tf.Tensor1D;
  /** m_β: [n] */
  counts: tf.Tensor1D;
  /** Σ_β m_β */
  total: number;
}

/** Class sums of real embeddings `fx` [N, D] with class indices `labels` (0..n−1). */
export function classStats(fx: tf.Tensor2D, labels: number[], classes: number): ClassStats {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels) counts[label]++;
  const [sums, sqNorms, countsT] = tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), classes).toFloat() as tf.Tensor2D;
    const s = tf.matMul(tf.transpose(onehot), fx) as tf.Tensor2D;
    const q = tf.matMul(tf.transpose(onehot), tf.sum(tf.square(fx), 1, true));
    return [s, tf.reshape(q, [classes]) as tf.Tensor1D, tf.tensor1d(counts)];
  });
  return { sums, sqNorms, counts: countsT, total: labels.length };
}

export function disposeStats(stats: ClassStats): void {
  tf.dispose([stats.sums, stats.sqNorms, stats.counts]);
}

/** d [n, n]: d[α][β] = Σ_{i∈β} |f(Y_α) − f(X_β,i)|², for synthetic embeddings fy [n, D]. */
export function classDistances(fy: tf.Tensor2D, stats: ClassStats): tf.Tensor2D {
  return tf.tidy(() => {
    const yy = tf.sum(tf.square(fy), 1, true);
    const cross = tf.matMul(fy, stats.sums, false, true);
    return tf.add(
      tf.sub(tf.mul(yy, tf.reshape(stats.counts, [1, -1])), tf.mul(cross, 2)),
      tf.reshape(stats.sqNorms, [1, -1]),
    ) as tf.Tensor2D;
  });
}

/**
 * Eq. 5 as the paper writes it, L = Σ_α (λ·d_αα − Σ_{β≠α} d_αβ), divided by N = Σ_β m_β.
 *
 * The division by N is a constant positive factor: it changes neither the minimiser nor λ's
 * meaning, and it keeps the gradient on a synthetic embedding at 2(λ−(n−1))/n·(y − y*) for
 * balanced classes, the same scale as distribution matching's, so DM's lr = 1 applies.
 *
 * Well-posedness: in embedding space L is a quadratic in each y_α whose |y_α|² coefficient is
 * λ·m_α − Σ_{β≠α} m_β. That is positive for MNIST's λ = 19, n = 10 and near-equal m (the minimiser
 * is y* = μ_α + (Σ_{β≠α} m_β/(λm_α − Σ_{β≠α} m_β))·(μ_α − μ_others)), but it can be negative for
 * other λ, n or class sizes, where Eq. 5 is unbounded below. The optimiser (dm.ts) therefore
 * clamps the synthetic pixels to the data range [0, 1] after every step (projected SGD): the
 * images live in a compact set and the loss of a continuous f is bounded below for every λ.
 */
export function eq5Loss(fy: tf.Tensor2D, stats: ClassStats, lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const d = classDistances(fy, stats);
    const n = d.shape[0];
    const diagonal = tf.sum(tf.mul(d, tf.eye(n)));
    const all = tf.sum(d);
    return tf.div(tf.sub(tf.mul(diagonal, lambda + 1), all), stats.total) as tf.Scalar;
  });
}
