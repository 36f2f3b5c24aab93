// Conv2D gradients built from the wasm backend's fast kernels: the input gradient as forward
// convolutions with the kernel rotated 180° (in/out swapped; per stride phase when strided), the
// filter gradient as one big-kernel convolution (or a transpose + matMul per tap). Both handle
// stride, dilation and any padding.
import * as tf from "../tf.js";

export interface ConvGeometry {
  strides: [number, number];
  dilations: [number, number];
  pad: { top: number; bottom: number; left: number; right: number };
  outHeight: number;
  outWidth: number;
}

type ConvPad =
  | "same"
  | "valid"
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

export interface Conv2DAttrs {
  strides: number | [number, number];
  pad: ConvPad;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

export function convGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return {
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad: info.padInfo,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
  };
}

/** Pads (positive) or crops (negative) an NHWC tensor's spatial borders. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number) {
  const [n, h, w, c] = x.shape;
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const t = Math.max(0, -top);
    const l = Math.max(0, -left);
    y = tf.slice(
      y,
      [0, t, l, 0],
      [n, h - t - Math.max(0, -bottom), w - l - Math.max(0, -right), c],
    );
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    y = tf.pad(y, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  }
  return y;
}

/** Inserts stride−1 zeros after every row/column: [N, H, W, C] → [N, H·sh, W·sw, C]. */
function zeroInsert(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(spread, [n, h * sh, w * sw, c]);
}

/** Forward conv that turns dy into dx for stride 1 (dilation allowed), or via zero insertion. */
function inputGradByRotation(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  const [, h, w] = xShape;
  const [kh, kw] = filter.shape;
  const [sh, sw] = geometry.strides;
  const [dh, dw] = geometry.dilations;
  const { top, left } = geometry.pad;
  const spread = zeroInsert(dy, sh, sw);
  // Row p of dx sums spread rows p + top − span … p + top (the window), so pad by span − top
  // before and enough after for h outputs; spread's own trailing zeros count towards it.
  const spanH = (kh - 1) * dh;
  const spanW = (kw - 1) * dw;
  const framed = padOrCrop(
    spread,
    spanH - top,
    h + top - spread.shape[1],
    spanW - left,
    w + left - spread.shape[2],
  );
  const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(framed, rotated, 1, "valid", "NHWC", [dh, dw]);
}

/**
 * Strided, undilated case without zero insertion: padded-input rows u = q·s + r (phase r)
 * receive only the taps a ≡ r (mod s), so each phase is a stride-1 convolution of dy with
 * that sub-kernel; the s_h·s_w phase outputs are interleaved and cropped to the input.
 */
function inputGradByPhases(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  const [n, h, w, cin] = xShape;
  const [kh, kw] = filter.shape;
  const [sh, sw] = geometry.strides;
  const { top, left } = geometry.pad;
  const [, oh, ow] = dy.shape;
  const qh = Math.ceil((top + h) / sh);
  const qw = Math.ceil((left + w) / sw);
  const rows: tf.Tensor[] = [];
  for (let rh = 0; rh < sh; rh++) {
    const cols: tf.Tensor[] = [];
    for (let rw = 0; rw < sw; rw++) {
      const mh = rh < kh ? Math.ceil((kh - rh) / sh) : 0;
      const mw = rw < kw ? Math.ceil((kw - rw) / sw) : 0;
      if (mh === 0 || mw === 0) {
        cols.push(tf.zeros([n, qh, qw, cin]));
        continue;
      }
      const sub =
        sh === 1 && sw === 1
          ? filter
          : tf.stridedSlice(filter, [rh, rw, 0, 0], [kh, kw, cin, filter.shape[3]], [sh, sw, 1, 1]);
      const rotated = tf.transpose(tf.reverse(sub, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const framed = padOrCrop(dy, mh - 1, qh - oh, mw - 1, qw - ow);
      cols.push(tf.conv2d(framed, rotated, 1, "valid"));
    }
    rows.push(tf.reshape(tf.stack(cols, 3), [n, qh, qw * sw, cin]));
  }
  const woven = tf.reshape(tf.stack(rows, 2), [n, qh * sh, qw * sw, cin]) as tf.Tensor4D;
  if (top === 0 && left === 0 && qh * sh === h && qw * sw === w) return woven;
  return tf.slice(woven, [0, top, left, 0], [n, h, w, cin]);
}

/** dL/dx of y = conv2d(x, filter) (NHWC, filter HWIO). */
export function conv2dInputGrad(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [sh, sw] = geometry.strides;
    const [dh, dw] = geometry.dilations;
    const [kh, kw] = filter.shape;
    // Phases pay off when every phase has taps; a 1×1 strided kernel is cheaper spread.
    const phased = (sh > 1 || sw > 1) && dh === 1 && dw === 1 && kh >= sh && kw >= sw;
    return phased
      ? inputGradByPhases(xShape, dy, filter, geometry)
      : inputGradByRotation(xShape, dy, filter, geometry);
  });
}

/**
 * Undilated filter gradient as one convolution: channels become the batch and images the
 * channels, dy (as [oh, ow, N, Cout]) is the kernel and the stride becomes its dilation.
 */
function filterGradByConv(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const [kh, kw] = filterShape;
    const [sh, sw] = geometry.strides;
    const { top, left } = geometry.pad;
    const needH = kh + (geometry.outHeight - 1) * sh;
    const needW = kw + (geometry.outWidth - 1) * sw;
    const framed = padOrCrop(x, top, needH - h - top, left, needW - w - left);
    const images = tf.transpose(framed, [3, 1, 2, 0]) as tf.Tensor4D;
    const kernel = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const out = tf.conv2d(images, kernel, 1, "valid", "NHWC", [sh, sw]);
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** Filter gradient for any geometry: for each tap, (strided view of x)ᵀ · dy. */
function filterGradByTaps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, cin] = x.shape;
    const [kh, kw, , cout] = filterShape;
    const [sh, sw] = geometry.strides;
    const [dh, dw] = geometry.dilations;
    const { top, bottom, left, right } = geometry.pad;
    const oh = geometry.outHeight;
    const ow = geometry.outWidth;
    // Channel-first input, padded so that every tap's view of oh·sh rows exists.
    const needH = (kh - 1) * dh + oh * sh;
    const needW = (kw - 1) * dw + ow * sw;
    const padded = padOrCrop(
      x,
      top,
      Math.max(bottom, needH - h - top),
      left,
      Math.max(right, needW - w - left),
    );
    const channelFirst = tf.transpose(padded, [3, 0, 1, 2]);
    const rows = n * oh * ow;
    const dyFlat = tf.reshape(dy, [rows, cout]) as tf.Tensor2D;
    const taps: tf.Tensor[] = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const view =
          sh === 1 && sw === 1
            ? tf.slice(channelFirst, [0, 0, a * dh, b * dw], [cin, n, oh, ow])
            : tf.stridedSlice(
                channelFirst,
                [0, 0, a * dh, b * dw],
                [cin, n, a * dh + (oh - 1) * sh + 1, b * dw + (ow - 1) * sw + 1],
                [1, 1, sh, sw],
              );
        taps.push(tf.matMul(tf.reshape(view, [cin, rows]) as tf.Tensor2D, dyFlat));
      }
    }
    return tf.reshape(tf.stack(taps), filterShape) as tf.Tensor4D;
  });
}

/** dL/dfilter of y = conv2d(x, filter) (NHWC, filter HWIO). */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  geometry: ConvGeometry,
): tf.Tensor4D {
  const undilated = geometry.dilations[0] === 1 && geometry.dilations[1] === 1;
  // With very few input channels the per-tap matMuls are cheaper than the big-kernel conv.
  return undilated && x.shape[3] > 4
    ? filterGradByConv(x, dy, filterShape, geometry)
    : filterGradByTaps(x, dy, filterShape, geometry);
}
