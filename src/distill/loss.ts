// Eq. 5, the distillation loss: each synthetic image's embedding pulled towards the real
// images of its class (weight λ) and pushed from those of the other classes.
import * as tf from "../nn/tf.js";

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
    const onehot = tf.cast(
      tf.oneHot(tf.tensor1d(labels, "int32"), classes),
      "float32",
    ) as tf.Tensor2D;
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
 * How the repulsion term of Eq. 5 is bounded. `eq5`: as the paper writes it, bounded only by the
 * pixel clamp. `capped`: each d_αβ (β ≠ α) enters as min(d_αβ, D_αβ), where D_αβ = Σ_{i∈β}
 * |μ_α − f(X_β,i)|² is the distance of class α's real mean embedding μ_α to class β: the
 * repulsion pushes a synthetic image away from another class only while it sits closer to that
 * class than its own class's real mean does.
 */
export const REPULSIONS = ["eq5", "capped"] as const;
export type Repulsion = (typeof REPULSIONS)[number];

/**
 * Eq. 5, L = Σ_α (λ·d_αα − Σ_{β≠α} d_αβ), divided by N = Σ_β m_β.
 *
 * The division by N is a constant positive factor: it changes neither the minimiser nor λ's
 * meaning, and it keeps the gradient on a synthetic embedding at 2(λ−(n−1))/n·(y − y*) for
 * balanced classes, the same scale as distribution matching's, so DM's lr = 1 applies.
 *
 * Well-posedness: in embedding space the `eq5` loss is a quadratic in each y_α whose |y_α|²
 * coefficient is λ·m_α − Σ_{β≠α} m_β. That is positive for MNIST's λ = 19, n = 10 and near-equal
 * m, but its minimiser is an extrapolation, y* = μ_α + c·(μ_α − μ_others) with
 * c = Σ_{β≠α} m_β/(λm_α − Σ_{β≠α} m_β) ≈ 0.9; the hierarchy feeds each level's output to the
 * next, so the extrapolation compounds (≈ 1.9× the class separation per level) until level 5 is
 * a caricature. For other λ, n or class sizes the coefficient is negative and Eq. 5 is unbounded
 * below. The pipeline's default splits λ's extrapolation over the levels (level-lambda.ts) so
 * that it does not compound. The optimiser (dm.ts) clamps the raw pixels to [0, 1] after every step, so the images
 * stay in a compact set; `capped` also bounds the repulsion below by −Σ D_αβ, for
 * every λ, and its minimiser is the class mean itself whenever that is far enough from the other
 * classes — no extrapolation to compound — while λ keeps its meaning as the weight of the pull
 * towards one's own class against the push from the others.
 */
export function eq5Loss(
  fy: tf.Tensor2D,
  stats: ClassStats,
  lambda: number,
  repulsion: Repulsion = "eq5",
): tf.Scalar {
  return tf.tidy(() => {
    const d = classDistances(fy, stats);
    const n = d.shape[0];
    const eye = tf.eye(n);
    const diagonal = tf.sum(tf.mul(d, eye));
    let others = tf.mul(d, tf.sub(1, eye));
    if (repulsion === "capped") {
      const means = tf.div(stats.sums, tf.reshape(stats.counts, [-1, 1])) as tf.Tensor2D;
      others = tf.minimum(others, tf.mul(classDistances(means, stats), tf.sub(1, eye)));
    }
    return tf.div(tf.sub(tf.mul(diagonal, lambda), tf.sum(others)), stats.total) as tf.Scalar;
  });
}
