// Forward and backward ONNX emitters for the non-CG layers (normalize, conv2d, batch norm in
// training mode, flatten, dense, relu, average pools): each returns its output and a closure that turns dL/dy into
// dL/dx while recording the parameter gradients.

import {
  type AvgPoolLayer,
  type BatchNormLayer,
  type Conv2dLayer,
  type DenseLayer,
  type NormalizeLayer,
  type Shape,
  windowGeometry,
} from "../../nn/spec.js";
import { windowSlices } from "../../onnx/window-slices.js";
import { type ConvWeightGrad, convKernelGrad } from "./conv-kernel-grad.js";
import {
  type GradContext,
  type LayerResult,
  reduceSum,
  reshape,
  transpose,
  type Value,
} from "./grad-context.js";
import { nchwcConv, nchwcConvFits } from "./nchwc-ops.js";

export interface LayerOptions {
  convWeightGrad: ConvWeightGrad;
  /** onnxruntime's NCHWc block size: convs whose channels are whole blocks use its kernels. */
  nchwcBlock?: number;
}

/**
 * The k·k strided, dilated window views of an NHWC value, each [N, oh, ow, C], row-major
 * (pads: [top, left, bottom, right]).
 */
export function windowViews(
  ctx: GradContext,
  x: string,
  k: number,
  s: number,
  d: number,
  pads: [number, number, number, number],
  [oh, ow]: [number, number],
): string[] {
  return windowSlices(ctx.g, x, { k, s, d, pads, oh, ow }, "NHWC", "");
}

export const toNhwc = (ctx: GradContext, x: string) => transpose(ctx, x, [0, 2, 3, 1], "nhwc");
export const toNchw = (ctx: GradContext, x: string) => transpose(ctx, x, [0, 3, 1, 2], "nchw");

function perChannel(ctx: GradContext, base: string, shape: Shape, data: number[]): string {
  const dims = shape.length === 3 ? [data.length, 1, 1] : [data.length];
  return ctx.g.float(base, dims, Float32Array.from(data));
}

export function normalize(
  ctx: GradContext,
  layer: NormalizeLayer,
  x: Value,
  path: string,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  const std = perChannel(ctx, `${path}.std`, x.shape, layer.std);
  const centred = g.op("Sub", [x.name, perChannel(ctx, `${path}.mean`, x.shape, layer.mean)]);
  const out = { name: g.op("Div", [centred, std], {}, `${path}.out`), shape: x.shape };
  return {
    out,
    backward: (dy) => (needDx ? g.op("Div", [dy, std], {}, "d_normalize") : undefined),
  };
}

export function conv2d(
  ctx: GradContext,
  layer: Conv2dLayer,
  x: Value,
  outShape: Shape,
  path: string,
  needDx: boolean,
  options: LayerOptions,
): LayerResult {
  const { g } = ctx;
  const [h, w, cin] = x.shape;
  const [oh, ow, f] = outShape;
  const { k, s, d, pads } = windowGeometry(layer, h, w);
  const [top, left, bottom, right] = pads;
  const hasBias = layer.bias ?? true;
  const kernel = ctx.weight(`${path}.kernel`);
  let oihwName: string | undefined;
  const oihw = () => {
    oihwName ??= transpose(ctx, kernel, [3, 2, 0, 1], `${path}.oihw`);
    return oihwName;
  };
  const bias = hasBias ? ctx.weight(`${path}.bias`) : undefined;
  const attrs = { kernel_shape: [k, k], strides: [s, s], dilations: [d, d], pads };
  // 1×1 stride-1 convs stay plain: onnxruntime runs them as one Gemm without im2col, and their
  // reorders cost more than NCHWc saves (ResNet50-w8 5% slower per step; docs/RESULTS.md).
  const blocked = k === 1 && s === 1 ? undefined : ctx.blockedFilter;
  const y =
    blocked && nchwcConvFits(cin, f, options.nchwcBlock)
      ? nchwcConv(
          ctx.g,
          x.name,
          cin,
          f,
          blocked(`${path}.kernel`, [f, cin, k, k], false),
          bias,
          attrs,
          `${path}.out`,
        )
      : g.op("Conv", bias ? [x.name, oihw(), bias] : [x.name, oihw()], attrs, `${path}.out`);

  const weightGrad = (dy: string): string =>
    convKernelGrad(
      ctx,
      options.convWeightGrad,
      x.name,
      dy,
      { k, s, d, pads, oh, ow, h, w, cin, f },
      `${path}.dkernel`,
    );

  const inputGrad = (dy: string): string => {
    const reach = (k - 1) * d;
    if (s === 1 && pads.every((p) => p <= reach)) {
      const dxPads = [reach - top, reach - left, reach - bottom, reach - right];
      if (blocked && nchwcConvFits(f, cin, options.nchwcBlock)) {
        const flippedBlocked = blocked(`${path}.kernel`, [cin, f, k, k], true);
        const dxAttrs = { kernel_shape: [k, k], dilations: [d, d], pads: dxPads };
        return nchwcConv(ctx.g, dy, f, cin, flippedBlocked, undefined, dxAttrs, "conv_dx");
      }
      const flipped = g.op(
        "Slice",
        [
          transpose(ctx, kernel, [2, 3, 0, 1], "conv_io"),
          g.int64("starts", [k - 1, k - 1]),
          g.int64("ends", [-k - 1, -k - 1]),
          g.int64("axes", [2, 3]),
          g.int64("steps", [-1, -1]),
        ],
        {},
        "conv_rot",
      );
      return g.op(
        "Conv",
        [dy, flipped],
        {
          kernel_shape: [k, k],
          dilations: [d, d],
          pads: dxPads,
        },
        "conv_dx",
      );
    }
    const extra = (size: number, out: number, a: number, b: number) =>
      size - ((out - 1) * s + reach + 1 - a - b);
    return g.op(
      "ConvTranspose",
      [dy, oihw()],
      {
        kernel_shape: [k, k],
        strides: [s, s],
        dilations: [d, d],
        pads,
        output_padding: [extra(h, oh, top, bottom), extra(w, ow, left, right)],
      },
      "conv_dx",
    );
  };

  return {
    out: { name: y, shape: outShape },
    backward: (dy) => {
      if (hasBias && ctx.wants(`${path}.bias`)) {
        ctx.grad(`${path}.bias`, reduceSum(ctx, dy, [0, 2, 3]));
      }
      if (ctx.wants(`${path}.kernel`)) ctx.grad(`${path}.kernel`, weightGrad(dy));
      return needDx ? inputGrad(dy) : undefined;
    },
  };
}

/**
 * Training-mode batch norm with the batch's mean and (biased) variance, as tf.moments gives,
 * in as few full-size ops as the algebra allows: with a = γ·invstd per channel,
 * y = (x − μ)·a + β, dγ = invstd·Σ dy·(x − μ), dβ = Σ dy and
 * dx = a·dy − a·mean(dy) − a·invstd²·mean(dy·(x − μ))·(x − μ) (both statistics carried).
 */
export function batchNorm(
  ctx: GradContext,
  layer: BatchNormLayer,
  x: Value,
  path: string,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  const spatial = x.shape.length === 3;
  const axes = spatial ? [0, 2, 3] : [0];
  const c = x.shape.at(-1) ?? 1;
  const bshape = spatial ? [c, 1, 1] : [c];
  const gamma = reshape(ctx, ctx.weight(`${path}.gamma`), bshape, "bn_gamma");
  const beta = reshape(ctx, ctx.weight(`${path}.beta`), bshape, "bn_beta");
  const eps = g.float("bn_eps", [], Float32Array.of(layer.epsilon ?? 1e-5));
  const mean = g.op("ReduceMean", [x.name], { axes, keepdims: 1 }, "bn_mean");
  const centred = g.op("Sub", [x.name, mean], {}, "bn_centred");
  const variance = g.op(
    "ReduceMean",
    [g.op("Mul", [centred, centred])],
    { axes, keepdims: 1 },
    "bn_var",
  );
  const invstd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, eps])])], {}, "invstd");
  const scale = g.op("Mul", [gamma, invstd], {}, "bn_scale");
  const y = g.op("Add", [g.op("Mul", [centred, scale], {}, "bn_scaled"), beta], {}, `${path}.out`);
  ctx.batchStats(path, reshape(ctx, mean, [c]), reshape(ctx, variance, [c]));
  return {
    out: { name: y, shape: x.shape },
    backward: (dy) => {
      const sumDy = reduceSum(ctx, dy, axes, 1);
      const sumDyCentred = reduceSum(ctx, g.op("Mul", [dy, centred], {}, "bn_dyc"), axes, 1);
      ctx.grad(`${path}.beta`, reshape(ctx, sumDy, [c]));
      ctx.grad(`${path}.gamma`, reshape(ctx, g.op("Mul", [sumDyCentred, invstd]), [c]));
      if (!needDx) return undefined;
      // 1 / (values per channel): the batch size is only known when the graph runs.
      const perChannel = g.op("Div", [
        g.float("bn_c", [], Float32Array.of(c)),
        g.op("Cast", [g.op("Size", [dy])], { to: 1 }),
      ]);
      const shift = g.op("Neg", [g.op("Mul", [g.op("Mul", [sumDy, perChannel]), scale])]);
      const slope = g.op("Neg", [
        g.op("Mul", [
          g.op("Mul", [sumDyCentred, perChannel]),
          g.op("Mul", [scale, g.op("Mul", [invstd, invstd])]),
        ]),
      ]);
      const scaledDy = g.op("Mul", [dy, scale], {}, "bn_scaled_dy");
      const along = g.op("Mul", [centred, slope], {}, "bn_along");
      return g.op("Sum", [scaledDy, along, shift], {}, "bn_dx");
    },
  };
}

/** NCHW → [N, H·W·C] in NHWC order, as tfjs flattens. */
export function flatten(ctx: GradContext, x: Value, needDx: boolean): LayerResult {
  const { g } = ctx;
  const size = x.shape.reduce((a, b) => a * b, 1);
  if (x.shape.length !== 3) {
    return { out: { name: x.name, shape: [size] }, backward: (dy) => (needDx ? dy : undefined) };
  }
  const [h, w, c] = x.shape;
  const nhwc = transpose(ctx, x.name, [0, 2, 3, 1], "flat_nhwc");
  const out = { name: g.op("Flatten", [nhwc], { axis: 1 }, "flat"), shape: [size] };
  return {
    out,
    backward: (dy) =>
      needDx ? transpose(ctx, reshape(ctx, dy, [0, h, w, c]), [0, 3, 1, 2], "d_flat") : undefined,
  };
}

export function dense(
  ctx: GradContext,
  layer: DenseLayer,
  x: Value,
  path: string,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  if (x.shape.length !== 1) throw new Error(`ORT training: dense ${path} needs a flat input`);
  const kernel = ctx.weight(`${path}.kernel`);
  const hasBias = layer.bias ?? true;
  const inputs = [x.name, kernel];
  if (hasBias) inputs.push(ctx.weight(`${path}.bias`));
  const y = g.op("Gemm", inputs, {}, `${path}.out`);
  return {
    out: { name: y, shape: [layer.units] },
    backward: (dy) => {
      if (hasBias) ctx.grad(`${path}.bias`, reduceSum(ctx, dy, [0]));
      ctx.grad(`${path}.kernel`, g.op("Gemm", [x.name, dy], { transA: 1 }, `${path}.dkernel`));
      return needDx ? g.op("Gemm", [dy, kernel], { transB: 1 }, "dense_dx") : undefined;
    },
  };
}

export function relu(ctx: GradContext, x: Value, path: string, needDx: boolean): LayerResult {
  const { g } = ctx;
  const y = g.op("Relu", [x.name], {}, `${path}.out`);
  return {
    out: { name: y, shape: x.shape },
    backward: (dy) => {
      if (!needDx) return undefined;
      const zero = g.float("zero", [], Float32Array.of(0));
      return g.op("Where", [g.op("Greater", [y, zero]), dy, zero], {}, "d_relu");
    },
  };
}

/** Valid average pooling; backward spreads dy/size² with a depthwise ConvTranspose. */
export function avgPool(
  ctx: GradContext,
  layer: AvgPoolLayer,
  x: Value,
  outShape: Shape,
  path: string,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  const [h, w, c] = x.shape;
  const [oh, ow] = outShape;
  const k = layer.size;
  const s = layer.stride ?? k;
  const attrs = { kernel_shape: [k, k], strides: [s, s] };
  const y = g.op("AveragePool", [x.name], attrs, `${path}.out`);
  return {
    out: { name: y, shape: outShape },
    backward: (dy) => {
      if (!needDx) return undefined;
      const spread = g.float("pool_w", [c, 1, k, k], new Float32Array(c * k * k).fill(1 / (k * k)));
      const extra = [h - ((oh - 1) * s + k), w - ((ow - 1) * s + k)];
      return g.op(
        "ConvTranspose",
        [dy, spread],
        { ...attrs, group: c, output_padding: extra },
        "d_pool",
      );
    },
  };
}

export function globalAvgPool(
  ctx: GradContext,
  x: Value,
  path: string,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  const [h, w, c] = x.shape;
  const y = g.op("ReduceMean", [x.name], { axes: [2, 3], keepdims: 0 }, `${path}.out`);
  return {
    out: { name: y, shape: [c] },
    backward: (dy) => {
      if (!needDx) return undefined;
      const scaled = g.op("Div", [dy, g.float("hw", [], Float32Array.of(h * w))]);
      const column = reshape(ctx, scaled, [0, c, 1, 1], "d_gap");
      return g.op("Expand", [column, g.int64("shape", [1, c, h, w])], {}, "d_gap_full");
    },
  };
}
