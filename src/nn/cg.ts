// The CG operation (Eq. 4) as tfjs ops: gather the k×k cluster views, multiply them into the
// monomials of degree 1..order, concatenate per input channel, and apply one 1×1 mapping.
import * as tf from "@tensorflow/tfjs";
import { monomialRecurrence } from "./monomials.js";
import { type CgLayer, padAmounts, windowOutSize } from "./spec.js";

/** The k·k strided, dilated views of the (padded) input, each [N, oh, ow, C], row-major. */
export function clusterViews(x: tf.Tensor4D, layer: CgLayer): tf.Tensor4D[] {
  const [n, h, w, c] = x.shape;
  const k = layer.kernel;
  const s = layer.stride ?? 1;
  const d = layer.dilation ?? 1;
  const padding = layer.padding ?? "valid";
  const oh = windowOutSize(h, k, s, d, padding);
  const ow = windowOutSize(w, k, s, d, padding);
  const [top, bottom] = padAmounts(padding, h, k, s, d);
  const [left, right] = padAmounts(padding, w, k, s, d);
  // Pad far enough that every view can take oh·s rows, so striding is a reshape.
  const needH = (k - 1) * d + oh * s;
  const needW = (k - 1) * d + ow * s;
  const extraH = Math.max(0, needH - (h + top + bottom));
  const extraW = Math.max(0, needW - (w + left + right));
  const padded =
    top + bottom + left + right + extraH + extraW > 0
      ? tf.pad(x, [
          [0, 0],
          [top, bottom + extraH],
          [left, right + extraW],
          [0, 0],
        ])
      : x;
  const views: tf.Tensor4D[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const block = tf.slice(padded, [0, ky * d, kx * d, 0], [n, oh * s, ow * s, c]);
      if (s === 1) {
        views.push(block as tf.Tensor4D);
        continue;
      }
      const strided = tf
        .reshape(block, [n, oh, s, ow, s, c])
        .slice([0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]);
      views.push(tf.reshape(strided, [n, oh, ow, c]));
    }
  }
  return views;
}

/** Every monomial of the views, in the canonical order; each term is [N, oh, ow, C]. */
export function clusterMonomials(views: tf.Tensor4D[], order: number): tf.Tensor4D[] {
  const terms: tf.Tensor4D[] = [];
  for (const { parent, variable } of monomialRecurrence(views.length, order)) {
    terms.push(parent < 0 ? views[variable] : tf.mul(terms[parent], views[variable]));
  }
  return terms;
}

/** y = bias + Σ_c Σ_t W[t, c, o]·term_t(c); kernel [T, C or 1, F], bias [F]. */
export function cgForward(
  x: tf.Tensor4D,
  layer: CgLayer,
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
): tf.Tensor4D {
  return tf.tidy(() => {
    const terms = clusterMonomials(clusterViews(x, layer), layer.order);
    const [n, oh, ow, c] = terms[0].shape;
    const features = layer.shared
      ? tf.stack(
          terms.map((t) => tf.sum(t, 3)),
          3,
        )
      : tf.concat(terms, 3);
    const width = layer.shared ? terms.length : terms.length * c;
    const flat = tf.reshape(features, [n * oh * ow, width]);
    let y = tf.matMul(flat, tf.reshape(kernel, [width, layer.filters]));
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [n, oh, ow, layer.filters]) as tf.Tensor4D;
  });
}
