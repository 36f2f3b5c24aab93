// Forward-only emitter of a ConvNet in onnxruntime's blocked NCHWc layout (its com.microsoft.nchwc
// kernels), for the distillation's real images: ORT's own NCHWc rewrite needs constant conv
// weights, and the DM graph's are inputs, so the graph names the blocked ops and JS blocks the
// filters (blockFilter).
import {
  type LayerSpec,
  layerOutputShape,
  type ModelSpec,
  type Shape,
  windowGeometry,
} from "../../nn/spec.js";
import type { GradContext, Value } from "./grad-context.js";
import { instanceNorm } from "./instance-norm.js";
import { avgPool, flatten, normalize } from "./layer-grads.js";
import { NCHWC_DOMAIN, nchwcConv, nchwcConvFits } from "./nchwc-ops.js";

export { NCHWC_DOMAIN };

/** A conv whose filter is fed blocked: graph input, its declared shape [f, cin, k, k], geometry. */
export interface BlockedFilter {
  input: string;
  shape: [number, number, number, number];
}

/**
 * Why `spec`'s forward cannot be emitted in NCHWc with block size `block`, or undefined: every
 * layer must be one the distillation ConvNet has, and every conv's filters (and its input
 * channels, from 8 on) whole blocks.
 */
export function nchwcUnsupported(spec: ModelSpec, block: number): string | undefined {
  if (!(block > 1)) return "no NCHWc kernels on this CPU";
  let shape: Shape = spec.input;
  for (const [i, layer] of spec.layers.entries()) {
    const kinds = ["normalize", "conv2d", "instanceNorm", "relu", "avgPool", "flatten"];
    if (!kinds.includes(layer.kind)) return `layer ${i} (${layer.kind})`;
    if (layer.kind === "conv2d" && !nchwcConvFits(shape[2], layer.filters, block)) {
      return `layer ${i}: ${shape[2]} input channels, ${layer.filters} filters`;
    }
    shape = layerOutputShape(layer, shape, `${i}`);
  }
  return undefined;
}

/**
 * The forward of `layers` on `input` (NCHW), convolutions as NCHWc kernels with filters from
 * `filter(path, shape)`; everything else in NCHW (instance norm has no NCHWc kernel), so each
 * conv's output is reordered back once and its input reordered after the pooling that follows.
 * The output is the same value, in the same order, as emitNetwork's forward.
 */
export function emitNchwcForward(
  ctx: GradContext,
  layers: LayerSpec[],
  input: Value,
  filter: (path: string, shape: BlockedFilter["shape"]) => string,
): Value {
  let x = input;
  layers.forEach((layer, i) => {
    const path = `${i}`;
    const outShape = layerOutputShape(layer, x.shape, path);
    switch (layer.kind) {
      case "normalize":
        x = normalize(ctx, layer, x, path, false).out;
        return;
      case "conv2d": {
        const [h, w, cin] = x.shape;
        const { k, s, d, pads } = windowGeometry(layer, h, w);
        const f = layer.filters;
        const bias = (layer.bias ?? true) ? ctx.weight(`${path}.bias`) : undefined;
        const attrs = { kernel_shape: [k, k], strides: [s, s], dilations: [d, d], pads };
        const kernel = filter(path, [f, cin, k, k]);
        const out = nchwcConv(ctx.g, x.name, cin, f, kernel, bias, attrs, `${path}.out`);
        x = { name: out, shape: outShape };
        return;
      }
      case "instanceNorm":
        x = instanceNorm(ctx, layer, x, path, false).out;
        return;
      case "relu":
        x = { name: ctx.g.op("Relu", [x.name], {}, `${path}.out`), shape: outShape };
        return;
      case "avgPool":
        x = avgPool(ctx, layer, x, outShape, path, false).out;
        return;
      case "flatten":
        x = flatten(ctx, x, false).out;
        return;
      default:
        throw new Error(`NCHWc forward: layer ${path} (${layer.kind}) is not supported`);
    }
  });
  return x;
}

/**
 * A spec-layout (HWIO) filter into onnxruntime's blocked layouts: OIHWBiBo ([f/B][cin/B][k·k][Bi]
 * [Bo]) when the input has at least 8 channels, else OIHWBo ([f/B][cin][k·k][Bo]), as MLAS's
 * MlasReorderFilterOIHWBiBo / OIHWBo write them.
 */
export function blockFilter(
  hwio: Float32Array,
  [f, cin, k]: BlockedFilter["shape"],
  block: number,
  out: Float32Array,
): void {
  const kk = k * k;
  if (cin < 8) {
    for (let ob = 0; ob < f / block; ob++)
      for (let i = 0; i < cin; i++)
        for (let p = 0; p < kk; p++) {
          const to = ((ob * cin + i) * kk + p) * block;
          const from = (p * cin + i) * f + ob * block;
          for (let bo = 0; bo < block; bo++) out[to + bo] = hwio[from + bo];
        }
    return;
  }
  const inBlocks = cin / block;
  for (let ob = 0; ob < f / block; ob++)
    for (let ib = 0; ib < inBlocks; ib++)
      for (let p = 0; p < kk; p++)
        for (let bi = 0; bi < block; bi++) {
          const to = (((ob * inBlocks + ib) * kk + p) * block + bi) * block;
          const from = (p * cin + ib * block + bi) * f + ob * block;
          for (let bo = 0; bo < block; bo++) out[to + bo] = hwio[from + bo];
        }
}
