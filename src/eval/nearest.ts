// Exact nearest reference by cosine for many queries, as blocked tfjs matmuls (a 1-NN over a
// whole training set in seconds on the wasm backend).
import * as tf from "../nn/tf.js";
import { normalizeRows } from "./cosine.js";

export interface Nearest {
  index: Int32Array;
  similarity: Float32Array;
}

export function nearestByCosine(
  queries: Float32Array,
  references: Float32Array,
  dim: number,
  blockRows = 256,
): Nearest {
  const nq = queries.length / dim;
  const nr = references.length / dim;
  if (!Number.isInteger(nq) || !Number.isInteger(nr) || nr === 0) {
    throw new Error(
      `nearestByCosine: ${queries.length} and ${references.length} values, dim ${dim}`,
    );
  }
  const q = normalizeRows(queries, dim);
  const refsT = tf.tidy(() => tf.transpose(tf.tensor2d(normalizeRows(references, dim), [nr, dim])));
  const index = new Int32Array(nq);
  const similarity = new Float32Array(nq);
  try {
    for (let start = 0; start < nq; start += blockRows) {
      const rows = Math.min(blockRows, nq - start);
      const block = q.subarray(start * dim, (start + rows) * dim);
      const [best, score] = tf.tidy(() => {
        const sims = tf.matMul(tf.tensor2d(block, [rows, dim]), refsT as tf.Tensor2D);
        return [tf.argMax(sims, 1), tf.max(sims, 1)];
      });
      index.set(best.dataSync() as Int32Array, start);
      similarity.set(score.dataSync() as Float32Array, start);
      tf.dispose([best, score]);
    }
  } finally {
    refsT.dispose();
  }
  return { index, similarity };
}
