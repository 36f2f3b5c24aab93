// The CG operation (Eq. 4) as tfjs ops: gather the k×k cluster views, multiply them into the
// monomials of degree 1..order, and map every (term, channel) to the outputs with plain matmuls.

import { monomialRecurrence } from "./monomials.js";
import { type CgLayer, cgTerms, strideFrame, windowGeometry } from "./spec.js";
import * as tf from "./tf.js";

/** Parameters of one CG layer on `channels` inputs: T·(C or 1)·F kernel + F bias. */
export function cgParamCount(layer: CgLayer, channels: number): number {
  const cin = layer.shared ? 1 : channels;
  return cgTerms(layer) * cin * layer.filters + ((layer.bias ?? true) ? layer.filters : 0);
}

/** Geometry of a CG layer on an input: output size, padding, and the padded frame size. */
function geometry(shape: number[], layer: CgLayer) {
  const [, h, w] = shape;
  const geometry = windowGeometry(layer, h, w);
  const {
    k,
    s,
    d,
    oh,
    ow,
    pads: [top, left, bottom, right],
  } = geometry;
  const [frameH, frameW] = strideFrame(geometry);
  return { k, s, d, oh, ow, top, left, bottom, right, frameH, frameW };
}

type Geometry = ReturnType<typeof geometry>;

/**
 * One cluster view (offset ky·d, kx·d, stride s) of a framed input [N, frameH, frameW, C]: a
 * depthwise convolution with a one-hot filter forward (XNNPACK), and a zero-padding scatter
 * backward (wasm has no depthwise or strided-slice gradients, and rank-6 slices are slow).
 */
function view(frame: tf.Tensor4D, g: Geometry, ky: number, kx: number): tf.Tensor4D {
  const [n, fh, fw, c] = frame.shape;
  const { s, d, oh, ow } = g;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const size = s === 1 ? g.k : (g.k - 1) * d + 1;
    const hot = s === 1 ? ky * size + kx : ky * d * size + kx * d;
    const taps = new Float32Array(size * size * c);
    taps.fill(1, hot * c, (hot + 1) * c);
    const filter = tf.tensor4d(taps, [size, size, c, 1]);
    const value = tf.depthwiseConv2d(
      input,
      filter,
      s,
      "valid",
      "NHWC",
      s === 1 ? d : 1,
    ) as tf.Tensor4D;
    filter.dispose();
    const exact = value.shape[1] === oh && value.shape[2] === ow;
    return {
      value: exact ? value : tf.slice(value, [0, 0, 0, 0], [n, oh, ow, c]),
      gradFunc: (dy: tf.Tensor) => {
        const y0 = ky * d;
        const x0 = kx * d;
        if (s === 1) {
          return tf.pad(dy, [
            [0, 0],
            [y0, fh - y0 - oh],
            [x0, fw - x0 - ow],
            [0, 0],
          ]);
        }
        const [qy, ry, qx, rx] = [Math.floor(y0 / s), y0 % s, Math.floor(x0 / s), x0 % s];
        const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]), [
          [0, 0],
          [qy, fh / s - qy - oh],
          [ry, s - 1 - ry],
          [qx, fw / s - qx - ow],
          [rx, s - 1 - rx],
          [0, 0],
        ]);
        return tf.reshape(spread, [n, fh, fw, c]);
      },
    };
  });
  return op(frame) as tf.Tensor4D;
}

/** The k·k strided, dilated views of the (padded) input, each [N, oh, ow, C], row-major. */
function clusterViews(x: tf.Tensor4D, layer: CgLayer): tf.Tensor4D[] {
  const [n, h, w, c] = x.shape;
  const g = geometry(x.shape, layer);
  const endH = g.frameH - h - g.top;
  const endW = g.frameW - w - g.left;
  let frame: tf.Tensor4D = x;
  if (g.top || g.left || endH > 0 || endW > 0) {
    frame = tf.pad(x, [
      [0, 0],
      [g.top, Math.max(0, endH)],
      [g.left, Math.max(0, endW)],
      [0, 0],
    ]);
  }
  if (endH < 0 || endW < 0) frame = tf.slice(frame, [0, 0, 0, 0], [n, g.frameH, g.frameW, c]);
  const views: tf.Tensor4D[] = [];
  for (let ky = 0; ky < g.k; ky++) {
    for (let kx = 0; kx < g.k; kx++) views.push(view(frame, g, ky, kx));
  }
  return views;
}

/** Every monomial of the views, in the canonical order; each term is [N, oh, ow, C]. */
function clusterMonomials(views: tf.Tensor4D[], order: number): tf.Tensor4D[] {
  const terms: tf.Tensor4D[] = [];
  for (const { parent, variable } of monomialRecurrence(views.length, order)) {
    terms.push(parent < 0 ? views[variable] : tf.mul(terms[parent], views[variable]));
  }
  return terms;
}

/**
 * y = Σ_t terms[t] · kernel[t] for terms [M, C] and kernel [T, C, F], with a gradient made of
 * plain matmuls and explicit transposes (wasm's transposed matmuls are ~10× slower) and no
 * concatenation of the terms.
 */
function termLinear(terms: tf.Tensor2D[], kernel: tf.Tensor3D): tf.Tensor2D {
  const count = terms.length;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const ts = inputs.slice(0, count) as tf.Tensor2D[];
    const w = inputs[count] as tf.Tensor3D;
    const ws = tf.unstack(w) as tf.Tensor2D[];
    const products = ts.map((t, i) => tf.matMul(t, ws[i]));
    const value = products.length === 1 ? products[0] : tf.addN(products);
    save([...ts, w]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dy2 = dy as tf.Tensor2D;
        const savedTerms = saved.slice(0, count) as tf.Tensor2D[];
        const savedW = tf.unstack(saved[count]) as tf.Tensor2D[];
        const dTerms = savedW.map((wi) => tf.matMul(dy2, tf.transpose(wi)));
        const dW = tf.stack(savedTerms.map((t) => tf.matMul(tf.transpose(t), dy2)));
        return [...dTerms, dW];
      },
    };
  });
  return op(...terms, kernel) as tf.Tensor2D;
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
    const m = n * oh * ow;
    const flat = terms.map((t) =>
      layer.shared ? tf.sum(tf.reshape(t, [m, c]), 1, true) : tf.reshape(t, [m, c]),
    ) as tf.Tensor2D[];
    let y: tf.Tensor = termLinear(flat, kernel as tf.Tensor3D);
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [n, oh, ow, layer.filters]) as tf.Tensor4D;
  });
}
