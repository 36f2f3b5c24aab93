// A convolution's kernel gradient dL/dW (spec layout [k, k, Cin, F]) as ONNX ops, in the forms
// that bench/train-ort-step.ts compares: which one is fastest depends on the layer's shape.
import type { WindowGeometry } from "../../nn/spec.js";
import { windowSlices } from "../../onnx/window-slices.js";
import { type GradContext, reshape, transpose } from "./grad-context.js";

/**
 * im2col: the k·k NHWC views concatenated, one Gemm over all pixels; views: one Gemm per view,
 * no concatenation; conv: one Conv of the batch-transposed input with the batch-transposed
 * output gradient; cnhw: im2col on the channel-major [C, N, H, W] input (each view a block of
 * rows, one contiguous Concat, one Gemm); shifted: cnhw where each stride-1 view is one
 * contiguous slice of the flattened padded input (the output gradient padded to the input's
 * grid with zeros), so no strided copies at the price of a longer Gemm; auto: shifted where
 * that grid is at most 35% larger than the output, cnhw elsewhere.
 */
export type ConvWeightGrad = "im2col" | "views" | "conv" | "cnhw" | "shifted" | "auto";
export const CONV_WEIGHT_GRADS = ["im2col", "views", "conv", "cnhw", "shifted", "auto"] as const;

/** How much larger the padded input grid may be than the output for "auto" to pick shifted. */
const SHIFTED_GRID_LIMIT = 1.35;

export interface ConvGradShape extends WindowGeometry {
  /** Input [H, W, Cin] and output filters. */
  h: number;
  w: number;
  cin: number;
  f: number;
}

/** dL/dW of a conv with input x (NCHW) and output gradient dy (NCHW). */
export function convKernelGrad(
  ctx: GradContext,
  form: ConvWeightGrad,
  x: string,
  dy: string,
  geometry: ConvGradShape,
  out: string,
): string {
  const { s, pads, oh, ow, h, w } = geometry;
  const [top, left, bottom, right] = pads;
  const grid = (h + top + bottom) * (w + left + right);
  const shiftedFits = s === 1 && grid <= SHIFTED_GRID_LIMIT * oh * ow;
  switch (form) {
    case "conv":
      return byConv(ctx, x, dy, geometry, out);
    case "cnhw":
      return channelMajor(ctx, x, dy, geometry, out);
    case "shifted":
      return s === 1 ? shifted(ctx, x, dy, geometry, out) : channelMajor(ctx, x, dy, geometry, out);
    case "auto":
      return shiftedFits
        ? shifted(ctx, x, dy, geometry, out)
        : channelMajor(ctx, x, dy, geometry, out);
    default:
      return pixelRows(ctx, form, x, dy, geometry, out);
  }
}

function byConv(ctx: GradContext, x: string, dy: string, geo: ConvGradShape, out: string): string {
  const { g } = ctx;
  const { k, s, d, pads, oh, ow } = geo;
  const xt = transpose(ctx, x, [1, 0, 2, 3], "conv_xt");
  const dyt = transpose(ctx, dy, [1, 0, 2, 3], "conv_dyt");
  const full = g.op(
    "Conv",
    [xt, dyt],
    { kernel_shape: [oh, ow], strides: [d, d], dilations: [s, s], pads },
    "conv_dw_full",
  );
  const cropped = g.op("Slice", [
    full,
    g.int64("starts", [0, 0]),
    g.int64("ends", [k, k]),
    g.int64("axes", [2, 3]),
  ]);
  return transpose(ctx, cropped, [2, 3, 0, 1], out);
}

/** Gemm of the [F, rows] output gradient with the [k·k·Cin, rows] columns, to [k, k, Cin, F]. */
function columnsGemm(
  ctx: GradContext,
  views: string[],
  dyRows: string,
  geo: ConvGradShape,
  out: string,
): string {
  const { g } = ctx;
  const { k, cin, f } = geo;
  const stacked = views.length === 1 ? views[0] : g.op("Concat", views, { axis: 0 }, "cols");
  const cols = reshape(ctx, stacked, [k * k * cin, -1], "cols_rows");
  const dw = g.op("Gemm", [dyRows, cols], { transB: 1 }, "conv_dw");
  return transpose(ctx, reshape(ctx, dw, [f, k, k, cin]), [1, 2, 3, 0], out);
}

function channelMajor(
  ctx: GradContext,
  x: string,
  dy: string,
  geo: ConvGradShape,
  out: string,
): string {
  const { k, s, pads, f } = geo;
  const xt = transpose(ctx, x, [1, 0, 2, 3], "conv_xt");
  const whole = k === 1 && s === 1 && pads.every((p) => p === 0);
  const views = whole ? [xt] : windowSlices(ctx.g, xt, geo, "NCHW", "");
  const dyRows = reshape(ctx, transpose(ctx, dy, [1, 0, 2, 3], "conv_dyt"), [f, -1], "dy_rows");
  return columnsGemm(ctx, views, dyRows, geo, out);
}

/**
 * Stride 1: on the padded grid [Hp, Wp] flattened with the batch, view (ky, kx) starts
 * ky·d·Wp + kx·d further on; positions past the output's rows and columns read neighbours,
 * and the zero-padded output gradient cancels them.
 */
function shifted(ctx: GradContext, x: string, dy: string, geo: ConvGradShape, out: string): string {
  const { g } = ctx;
  const { k, d, pads, oh, ow, h, w, cin, f } = geo;
  const [top, left, bottom, right] = pads;
  const hp = h + top + bottom;
  const wp = w + left + right;
  const reach = (k - 1) * d;
  const xt = transpose(ctx, x, [1, 0, 2, 3], "conv_xt");
  const padded = pads.some((p) => p > 0)
    ? g.op("Pad", [xt, g.int64("pads", [0, 0, top, left, 0, 0, bottom, right])], {}, "pad")
    : xt;
  const flat = reshape(ctx, padded, [cin, -1], "flat");
  const tail = reach * wp + reach;
  const long = tail > 0 ? g.op("Pad", [flat, g.int64("pads", [0, 0, 0, tail])], {}, "pad") : flat;
  // Each view is the flat length long: its end counts back from the padded end (the last
  // view runs to it).
  const views: string[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const start = ky * d * wp + kx * d;
      const end = start < tail ? start - tail : Number.MAX_SAFE_INTEGER;
      const range = [g.int64("starts", [start]), g.int64("ends", [end]), g.int64("axes", [1])];
      views.push(g.op("Slice", [long, ...range], {}, "view"));
    }
  }
  const dyt = transpose(ctx, dy, [1, 0, 2, 3], "conv_dyt");
  const grown = g.op(
    "Pad",
    [dyt, g.int64("pads", [0, 0, 0, 0, 0, 0, hp - oh, wp - ow])],
    {},
    "dy_grid",
  );
  return columnsGemm(ctx, views, reshape(ctx, grown, [f, -1], "dy_rows"), geo, out);
}

/** The NHWC forms: im2col (one Gemm over the concatenated views) or views (one Gemm each). */
function pixelRows(
  ctx: GradContext,
  form: "im2col" | "views",
  x: string,
  dy: string,
  geo: ConvGradShape,
  out: string,
): string {
  const { g } = ctx;
  const { k, cin, f } = geo;
  const views = windowSlices(g, transpose(ctx, x, [0, 2, 3, 1], "nhwc"), geo, "NHWC", "").map((v) =>
    reshape(ctx, v, [-1, cin], "col"),
  );
  const dyRows = reshape(ctx, transpose(ctx, dy, [0, 2, 3, 1], "nhwc"), [-1, f], "dy_rows");
  if (form === "views") {
    const parts = views.map((v) => g.op("Gemm", [v, dyRows], { transA: 1 }, "conv_dw_part"));
    const stacked = parts.length === 1 ? parts[0] : g.op("Concat", parts, { axis: 0 });
    return reshape(ctx, stacked, [k, k, cin, f], out);
  }
  const cols = views.length === 1 ? views[0] : g.op("Concat", views, { axis: 1 }, "cols");
  const dw = g.op("Gemm", [cols, dyRows], { transA: 1 }, "conv_dw");
  return reshape(ctx, dw, [k, k, cin, f], out);
}
