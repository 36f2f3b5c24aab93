// Conv2D gradients built from the wasm backend's fast kernels: the input gradient as a forward
// convolution with the kernel rotated 180° (in/out swapped), the filter gradient as one explicit
// transpose and a plain matMul per kernel tap. Both handle stride, dilation and any padding.
import * as tf from "@tensorflow/tfjs";

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

/** dL/dx of y = conv2d(x, filter) (NHWC, filter HWIO). */
export function conv2dInputGrad(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = xShape;
    const [kh, kw] = filter.shape;
    const [sh, sw] = geometry.strides;
    const [dh, dw] = geometry.dilations;
    const { top, left } = geometry.pad;
    const spanH = (kh - 1) * dh;
    const spanW = (kw - 1) * dw;
    const spread = zeroInsert(dy, sh, sw);
    // Row p of dx sums spread rows p + top − span … p + top (the window), so pad by span − top
    // before and enough after for h outputs; spread's own trailing zeros count towards it.
    const before = spanH - top;
    const after = h + top - spread.shape[1];
    const beforeW = spanW - left;
    const afterW = w + left - spread.shape[2];
    const framed = padOrCrop(spread, before, after, beforeW, afterW);
    const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(framed, rotated, 1, "valid", "NHWC", [dh, dw]);
  });
}

/**
 * dL/dfilter for an undilated convolution as one forward convolution: channels become the
 * batch, dy (batch as input channels) the kernel, the stride its dilation. Much faster than
 * per-tap slices on wasm, above all for strided layers and few channels.
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

/** dL/dfilter of y = conv2d(x, filter): for each tap, (strided view of x)ᵀ · dy. */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  geometry: ConvGeometry,
): tf.Tensor4D {
  if (geometry.dilations[0] === 1 && geometry.dilations[1] === 1) {
    return filterGradByConv(x, dy, filterShape, geometry);
  }
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
