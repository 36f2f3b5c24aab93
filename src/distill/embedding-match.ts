// Embedding matching: moves distilled references so that the serving embedder maps each one onto
// the mean direction of the real images it summarises — Eq. 5's per-subset matching with the
// embedder as the feature map. Random-network DM tunes references to no embedder, and embedders
// trained with augmentation or ArcFace map its smooth upper-level prototypes off their class.
import { normalizeRows } from "../eval/cosine.js";
import { forward } from "../nn/forward.js";
import type { ModelSpec } from "../nn/spec.js";
import * as tf from "../nn/tf.js";
import type { Weights } from "../nn/weights.js";
import { toTensors } from "../train/step.js";
import type { DistillPlan } from "./plan.js";

/**
 * Per level, the unit-length target of every output (subset-major: subset j, class c at
 * j·classes + c): the normalised sum of the unit embeddings of the real images under it.
 * `embeddings` are the data set's images' embeddings (count × dim), in data-set order.
 */
export function descendantTargets(
  plan: DistillPlan,
  embeddings: Float32Array,
  dim: number,
): Float32Array[] {
  const unit = normalizeRows(embeddings, dim);
  const sums: Float32Array[] = [];
  for (const level of plan.levels) {
    // Level 1 sums the images' unit embeddings; level L the (unnormalised) sums of level L−1.
    const source = sums.at(-1) ?? unit;
    const out = new Float32Array(level.subsets * plan.classes * dim);
    level.members.forEach((subset, j) => {
      subset.forEach((members, c) => {
        const o = (j * plan.classes + c) * dim;
        for (const m of members) {
          for (let k = 0; k < dim; k++) out[o + k] += source[m * dim + k];
        }
      });
    });
    sums.push(out);
  }
  return sums.map((s) => normalizeRows(s, dim));
}

/** match-references.ts's defaults, which pipeline.ts --match runs with and weighs its stage by. */
export const MATCH_DEFAULTS = { levels: [3, 4, 5], steps: 100, lr: 0.01, batch: 200 };

export interface MatchOptions {
  spec: ModelSpec;
  weights: Weights;
  /** count × H × W × C pixels in [0, 1]: the starting references (not modified). */
  images: Float32Array;
  count: number;
  /** count × dim unit targets. */
  targets: Float32Array;
  steps: number;
  /** Adam's step size on pixels in [0, 1]. */
  lr: number;
  /** Images per gradient batch (the result does not depend on it). */
  batch?: number;
  /** After each batch: references done so far, and that batch's mean cosine after matching. */
  onBatch?: (done: number, meanCosine: number) => void;
}

export interface MatchResult {
  images: Float32Array;
  /** Mean cosine between each reference's embedding and its target, before and after. */
  cosineBefore: number;
  cosineAfter: number;
}

/**
 * Adam on the pixels, maximising the sum of cos(embedder(x), target) over the images, pixels kept
 * in [0, 1]; the embedder runs in inference mode (batch norm's running statistics), so each
 * image's gradient is its own and batches only bound memory.
 */
export function matchEmbeddings(options: MatchOptions): MatchResult {
  const { spec, count, steps, lr } = options;
  const [h, w, c] = spec.input;
  const size = h * w * c;
  const dim = options.targets.length / count;
  const batch = options.batch ?? MATCH_DEFAULTS.batch;
  const images = options.images.slice();
  const params = toTensors(options.weights);
  let before = 0;
  let after = 0;
  try {
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      const part = images.subarray(start * size, (start + n) * size);
      const target = tf.tensor2d(options.targets.subarray(start * dim, (start + n) * dim), [
        n,
        dim,
      ]);
      const x = tf.variable(tf.tensor4d(part, [n, h, w, c]));
      const optimizer = tf.train.adam(lr);
      const cosineSum = (): tf.Scalar =>
        tf.tidy(() => {
          const e = forward(spec, params, x, { training: false });
          const unit = tf.div(e, tf.maximum(tf.norm(e, "euclidean", -1, true), 1e-12));
          return tf.sum(tf.mul(unit, target)) as tf.Scalar;
        });
      const read = () => {
        const t = cosineSum();
        const value = t.dataSync()[0] ?? 0;
        t.dispose();
        return value;
      };
      try {
        before += read();
        for (let step = 1; step <= steps; step++) {
          optimizer.minimize(() => tf.neg(cosineSum()), false, [x]);
          tf.tidy(() => x.assign(tf.clipByValue(x, 0, 1)));
        }
        const matched = read();
        after += matched;
        options.onBatch?.(start + n, matched / n);
        part.set(x.dataSync() as Float32Array);
      } finally {
        tf.dispose([x, target]);
        optimizer.dispose();
      }
    }
  } finally {
    tf.dispose(Object.values(params));
  }
  return { images, cosineBefore: before / count, cosineAfter: after / count };
}
