// The CG operation (Eq. 4) as tfjs ops: gather the k×k cluster views, multiply them into the
// monomials of degree 1..order stacked along a leading axis, and map them with one matmul.
import * as tf from "@tensorflow/tfjs";
import { countMonomialsOfDegree } from "./monomials.js";
import { type CgLayer, cgTerms, padAmounts, windowOutSize } from "./spec.js";
import { recurrenceArrays } from "./taylor-direct.js";

/** Parameters of one CG layer on `channels` inputs: T·(C or 1)·F kernel + F bias. */
export function cgParamCount(layer: CgLayer, channels: number): number {
  const cin = layer.shared ? 1 : channels;
  return cgTerms(layer) * cin * layer.filters + ((layer.bias ?? true) ? layer.filters : 0);
}

/** Geometry of a CG layer on an input: output size, padding, and the padded frame size. */
function geometry(shape: number[], layer: CgLayer) {
  const [, h, w] = shape;
  const k = layer.kernel;
  const s = layer.stride ?? 1;
  const d = layer.dilation ?? 1;
  const padding = layer.padding ?? "valid";
  const oh = windowOutSize(h, k, s, d, padding);
  const ow = windowOutSize(w, k, s, d, padding);
  const [top, bottom] = padAmounts(padding, h, k, s, d);
  const [left, right] = padAmounts(padding, w, k, s, d);
  // The frame holds every view's last row and column, rounded up to a multiple of the stride.
  const frameH = Math.ceil(((k - 1) * d + (oh - 1) * s + 1) / s) * s;
  const frameW = Math.ceil(((k - 1) * d + (ow - 1) * s + 1) / s) * s;
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
export function clusterViews(x: tf.Tensor4D, layer: CgLayer): tf.Tensor4D[] {
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

/**
 * Every monomial of degree 1..order of the views, stacked in the canonical order: [T, M, C]
 * for views [k², M, C]. One gather-gather-multiply per degree, whatever the number of terms.
 */
export function stackedMonomials(views: tf.Tensor3D, order: number): tf.Tensor3D {
  const vars = views.shape[0];
  const { parent, variable } = recurrenceArrays(vars, order);
  const degrees: tf.Tensor3D[] = [views];
  let previous = 0;
  let start = vars;
  for (let d = 2; d <= order; d++) {
    const size = countMonomialsOfDegree(vars, d);
    const parents = tf.tensor1d(
      parent.subarray(start, start + size).map((p) => p - previous),
      "int32",
    );
    const vs = tf.tensor1d(variable.slice(start, start + size), "int32");
    degrees.push(tf.mul(tf.gather(degrees[d - 2], parents), tf.gather(views, vs)) as tf.Tensor3D);
    previous = start;
    start += size;
  }
  return degrees.length === 1 ? views : tf.concat(degrees, 0);
}

/** Every monomial of the views, in the canonical order; each term is [N, oh, ow, C]. */
export function clusterMonomials(views: tf.Tensor4D[], order: number): tf.Tensor4D[] {
  const [n, oh, ow, c] = views[0].shape;
  const stacked = stackedMonomials(
    tf.reshape(tf.stack(views), [views.length, n * oh * ow, c]),
    order,
  );
  return tf.unstack(stacked).map((t) => tf.reshape(t, [n, oh, ow, c]));
}

/**
 * y = bias + Σ_c Σ_t W[t, c, o]·term_t(c); kernel [T, C or 1, F], bias [F]. The terms are
 * laid out [M, T·C] (index t·C + c) and mapped by one matmul, the 1×1 convolution of the design.
 */
export function cgForward(
  x: tf.Tensor4D,
  layer: CgLayer,
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
): tf.Tensor4D {
  return tf.tidy(() => {
    const views = clusterViews(x, layer);
    const [n, oh, ow, c] = views[0].shape;
    const m = n * oh * ow;
    const terms = stackedMonomials(tf.reshape(tf.stack(views), [views.length, m, c]), layer.order);
    const t = terms.shape[0];
    const flat = layer.shared
      ? tf.transpose(tf.sum(terms, 2))
      : tf.reshape(tf.transpose(terms, [1, 0, 2]), [m, t * c]);
    const width = layer.shared ? t : t * c;
    let y: tf.Tensor = tf.matMul(
      flat as tf.Tensor2D,
      tf.reshape(kernel, [width, layer.filters]) as tf.Tensor2D,
    );
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [n, oh, ow, layer.filters]) as tf.Tensor4D;
  });
}
