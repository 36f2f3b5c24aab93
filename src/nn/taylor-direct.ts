// The direct Taylor expansion of Eq. 3: all monomials of degree 1..n of the input features,
// built batch by batch in plain typed-array loops (never for the whole data set), into one
// linear layer; plus its spec.

import { MNIST_NORMALIZATION, type Normalization } from "../data/normalize.js";
import { countMonomials } from "./monomials.js";
import type { ModelSpec } from "./spec.js";
import * as tf from "./tf.js";

interface Recurrence {
  parent: Int32Array;
  variable: Int32Array;
}

const recurrences = new Map<string, Recurrence>();

/**
 * Term t = term[parent[t]] · x[variable[t]] (parent −1: the variable itself), cached. The
 * canonical (degree, then lexicographic) order extends each degree-d tuple, in order, by every
 * variable ≥ its last one, so the arrays come out in O(T) without enumerating tuples.
 */
export function recurrenceArrays(vars: number, order: number): Recurrence {
  const key = `${vars}:${order}`;
  let r = recurrences.get(key);
  if (!r) {
    const total = countMonomials(vars, order);
    const parent = new Int32Array(total).fill(-1);
    const variable = new Int32Array(total);
    for (let v = 0; v < vars; v++) variable[v] = v;
    let start = 0;
    let end = vars;
    for (let d = 2; d <= order; d++) {
      let next = end;
      for (let p = start; p < end; p++) {
        for (let v = variable[p]; v < vars; v++) {
          parent[next] = p;
          variable[next++] = v;
        }
      }
      start = end;
      end = next;
    }
    r = { parent, variable };
    recurrences.set(key, r);
  }
  return r;
}

/** [n, vars] → [n, T] monomials in the canonical order, in plain loops. */
export function monomialFeaturesArray(
  x: Float32Array,
  n: number,
  vars: number,
  order: number,
  out?: Float32Array,
): Float32Array {
  const { parent, variable } = recurrenceArrays(vars, order);
  const terms = parent.length;
  const result = out ?? new Float32Array(n * terms);
  for (let b = 0; b < n; b++) {
    const xo = b * vars;
    const o = b * terms;
    for (let t = 0; t < terms; t++) {
      const p = parent[t];
      const v = x[xo + variable[t]];
      result[o + t] = p < 0 ? v : result[o + p] * v;
    }
  }
  return result;
}

/** dL/dx from dL/dterms by running the recurrence backwards (rarely needed: inputs are data). */
function monomialInputGrad(
  x: Float32Array,
  dy: Float32Array,
  n: number,
  vars: number,
  order: number,
): Float32Array {
  const { parent, variable } = recurrenceArrays(vars, order);
  const terms = parent.length;
  const value = monomialFeaturesArray(x, n, vars, order);
  const g = Float32Array.from(dy);
  const dx = new Float32Array(n * vars);
  for (let b = 0; b < n; b++) {
    const o = b * terms;
    for (let t = terms - 1; t >= 0; t--) {
      const p = parent[t];
      const v = variable[t];
      if (p < 0) {
        dx[b * vars + v] += g[o + t];
      } else {
        g[o + p] += g[o + t] * x[b * vars + v];
        dx[b * vars + v] += g[o + t] * value[o + p];
      }
    }
  }
  return dx;
}

/** [N, V] → [N, T]: every monomial of degree 1..order of the V features, canonical order. */
export function monomialFeatures(x: tf.Tensor2D, order: number): tf.Tensor2D {
  const [n, vars] = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor2D;
    const xs = input.dataSync() as Float32Array;
    const features = monomialFeaturesArray(xs, n, vars, order);
    return {
      value: tf.tensor2d(features, [n, features.length / n]),
      gradFunc: (dy: tf.Tensor) =>
        tf.tensor2d(monomialInputGrad(xs, dy.dataSync() as Float32Array, n, vars, order), [
          n,
          vars,
        ]),
    };
  });
  return op(x) as tf.Tensor2D;
}

/** Eq. 3 on [H, W, C] images: normalize → flatten → monomials(order) → dense(classes). */
export function taylorDirectSpec(
  order: number,
  input: [number, number, number] = [7, 7, 1],
  norm: Normalization = MNIST_NORMALIZATION,
  classes = 10,
): ModelSpec {
  if (!Number.isInteger(order) || order < 1 || order > 6)
    throw new Error(`order must be 1..6, got ${order}`);
  return {
    name: `taylor-direct-order${order}`,
    input,
    layers: [
      { kind: "normalize", mean: norm.mean, std: norm.std },
      { kind: "flatten" },
      { kind: "monomials", order },
      { kind: "dense", units: classes },
    ],
    output: "logits",
  };
}
