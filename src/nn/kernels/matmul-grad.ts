// BatchMatMul gradients with explicit transposes: wasm's transposed matMuls run several times
// slower than a transpose followed by a plain matMul.
import * as tf from "../tf.js";

function t(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
}

function mm(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
}

/** Sums a broadcast gradient back to the saved input's shape. */
function fit(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank - 2; i++) {
    if (i < lead || shape[i - lead] === 1) axes.push(i);
  }
  return tf.reshape(tf.sum(g, axes), shape);
}

export function matMulGrads(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): { a: () => tf.Tensor; b: () => tf.Tensor } {
  if (!transposeA && !transposeB) {
    return { a: () => fit(mm(dy, t(b)), a.shape), b: () => fit(mm(t(a), dy), b.shape) };
  }
  if (!transposeA && transposeB) {
    return { a: () => fit(mm(dy, b), a.shape), b: () => fit(mm(t(dy), a), b.shape) };
  }
  if (transposeA && !transposeB) {
    return { a: () => fit(mm(b, t(dy)), a.shape), b: () => fit(mm(a, dy), b.shape) };
  }
  return { a: () => fit(mm(t(b), t(dy)), a.shape), b: () => fit(mm(t(dy), t(a)), b.shape) };
}
