// A convolution's kernel gradient dL/dW (spec layout [k, k, Cin, F]) as ONNX ops, in the forms
// that bench/train-ort-step.ts compares (docs/RESULTS.md has the figures).
import type { WindowGeometry } from "../../nn/spec.js";
import { windowSlices } from "../../onnx/window-slices.js";
import { type GradContext, reshape, transpose } from "./grad-context.js";

/**
 * im2col: the k·k NHWC views concatenated, one Gemm over all pixels; views: one Gemm per view,
 * no concatenation; conv: one Conv of the batch-transposed input with the batch-transposed
 * output gradient; cnhw: im2col on the channel-major [C, N, H, W] input (each view a block of
 * rows, one contiguous Concat, one Gemm); cnhw-views: cnhw with one Gemm per view and no
 * Concat of the views; auto (the training step's default): cnhw-views on large outputs,
 * im2col on small ones.
 */
export type ConvWeightGrad = (typeof CONV_WEIGHT_GRADS)[number];
export const CONV_WEIGHT_GRADS = ["im2col", "views", "conv", "cnhw", "cnhw-views", "auto"] as const;

/**
 * auto's switch: outputs of at least 8×8 pixels take cnhw-views, smaller ones im2col (measured:
 * ResNet18-w16 as fast as with the 7×7 stage on cnhw-views too, mnist7's 7×7 and 4×4 convs
 * about 10% slower on cnhw-views than on im2col).
 */
const AUTO_MIN_PIXELS = 64;

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
  switch (form) {
    case "conv":
      return byConv(ctx, x, dy, geometry, out);
    case "cnhw":
    case "cnhw-views":
      return channelMajor(ctx, x, dy, geometry, out, form === "cnhw-views");
    case "auto":
      return geometry.oh * geometry.ow >= AUTO_MIN_PIXELS
        ? channelMajor(ctx, x, dy, geometry, out, true)
        : pixelRows(ctx, "im2col", x, dy, geometry, out);
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
  perView = false,
): string {
  const { k, s, pads, f, cin } = geo;
  const xt = transpose(ctx, x, [1, 0, 2, 3], "conv_xt");
  const whole = k === 1 && s === 1 && pads.every((p) => p === 0);
  const views = whole ? [xt] : windowSlices(ctx.g, xt, geo, "NCHW", "");
  const dyRows = reshape(ctx, transpose(ctx, dy, [1, 0, 2, 3], "conv_dyt"), [f, -1], "dy_rows");
  if (!perView || views.length === 1) return columnsGemm(ctx, views, dyRows, geo, out);
  const { g } = ctx;
  const parts = views.map((v) =>
    g.op("Gemm", [dyRows, reshape(ctx, v, [cin, -1], "view_rows")], { transB: 1 }, "conv_dw"),
  );
  const dw = g.op("Concat", parts, { axis: 1 }, "dw_parts");
  return transpose(ctx, reshape(ctx, dw, [f, k, k, cin]), [1, 2, 3, 0], out);
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
