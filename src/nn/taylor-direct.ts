// The direct Taylor expansion of Eq. 3: all monomials of degree 1..n of the input features,
// built batch by batch (never for the whole data set), into one linear layer.
import * as tf from "@tensorflow/tfjs";
import { countMonomialsOfDegree, monomialRecurrence } from "./monomials.js";

/** [N, V] → [N, T]: every monomial of degree 1..order of the V features, canonical order. */
export function monomialFeatures(x: tf.Tensor2D, order: number): tf.Tensor2D {
  return tf.tidy(() => {
    const vars = x.shape[1];
    const recurrence = monomialRecurrence(vars, order);
    const degrees: tf.Tensor2D[] = [x];
    let previousStart = 0;
    let start = vars;
    for (let d = 2; d <= order; d++) {
      const slice = recurrence.slice(start, start + countMonomialsOfDegree(vars, d));
      const parents = tf.tensor1d(
        slice.map((r) => r.parent - previousStart),
        "int32",
      );
      const variables = tf.tensor1d(
        slice.map((r) => r.variable),
        "int32",
      );
      degrees.push(tf.mul(tf.gather(degrees[d - 2], parents, 1), tf.gather(x, variables, 1)));
      previousStart = start;
      start += slice.length;
    }
    return degrees.length === 1 ? x : tf.concat(degrees, 1);
  });
}
