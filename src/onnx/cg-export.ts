// Eq. 4 as ONNX ops: the k·k strided, dilated cluster views (Slice ops or a depthwise conv with
// one-hot kernels), their monomials in the canonical order, and one 1×1 convolution (or one
// MatMul per term, summed).
import { enumerateMonomials } from "../nn/monomials.js";
import { type CgLayer, type WindowGeometry, windowGeometry } from "../nn/spec.js";
import {
  AUTO_MATMUL_FEATURES,
  type EmitContext,
  optionalWeight,
  type Value,
  weight,
} from "./emit-context.js";
import { type ChannelAffine, cgToPointwise, foldOutputMajor } from "./weights-layout.js";
import { windowSlices } from "./window-slices.js";

interface Geometry extends WindowGeometry {
  c: number;
}

function geometry(layer: CgLayer, input: Value, output: number[]): Geometry {
  const [h, w, c] = input.shape;
  return { ...windowGeometry(layer, h, w), oh: output[0], ow: output[1], c };
}

/** Degree-by-degree (parent term within the previous degree, new variable) index lists. */
function degreeSteps(vars: number, order: number): { parents: number[]; variables: number[] }[] {
  const terms = enumerateMonomials(vars, order);
  const steps: { parents: number[]; variables: number[] }[] = [];
  for (let d = 2; d <= order; d++) {
    const previous = terms.filter((t) => t.length === d - 1).map((t) => t.join(","));
    const index = new Map(previous.map((key, i) => [key, i]));
    const current = terms.filter((t) => t.length === d);
    steps.push({
      parents: current.map((t) => index.get(t.slice(0, -1).join(",")) ?? -1),
      variables: current.map((t) => t[t.length - 1]),
    });
  }
  return steps;
}

/** The k·k cluster views [N, C, oh, ow] (row-major offsets) as Slice ops on the padded input. */
function sliceViews(ctx: EmitContext, x: string, geo: Geometry): string[] {
  return windowSlices(ctx.g, x, geo, "NCHW", "cg_");
}

/** Every monomial of the views in the canonical order, one Mul per term of degree ≥ 2. */
function monomialTerms(ctx: EmitContext, views: string[], order: number): string[] {
  const terms = [...views];
  let previous = views;
  for (const step of degreeSteps(views.length, order)) {
    const current = step.parents.map((p, i) =>
      ctx.g.op("Mul", [previous[p], views[step.variables[i]]], {}, "cg_term"),
    );
    terms.push(...current);
    previous = current;
  }
  return terms;
}

/** [N, T·C, oh, ow] in term-major order (src/nn/cg.ts's t·C + c). */
function sliceFeatures(ctx: EmitContext, x: string, geo: Geometry, order: number): string {
  const terms = monomialTerms(ctx, sliceViews(ctx, x, geo), order);
  return terms.length === 1 ? terms[0] : ctx.g.op("Concat", terms, { axis: 1 }, "cg_features");
}

/**
 * No feature tensor at all: each term [N, C, oh·ow] goes through its own MatMul with W_t [F, C]
 * and the T products are summed, which avoids the large Concat and its layout reorder.
 */
function matmulCg(
  ctx: EmitContext,
  layer: CgLayer,
  x: string,
  geo: Geometry,
  weight: Float32Array,
  bias: Float32Array | undefined,
  path: string,
): string {
  const { g } = ctx;
  const { oh, ow } = geo;
  const flat = g.int64("shape", [0, geo.c, oh * ow]);
  const views = sliceViews(ctx, x, geo).map((v) => g.op("Reshape", [v, flat], {}, "cg_flat"));
  let terms = monomialTerms(ctx, views, layer.order);
  if (layer.shared) {
    const axis = g.int64("axes", [1]);
    terms = terms.map((t) => g.op("ReduceSum", [t, axis], { keepdims: 1 }, "cg_sum"));
  }
  const c = layer.shared ? 1 : geo.c;
  const f = layer.filters;
  const width = terms.length * c;
  const products = terms.map((term, t) => {
    const wt = new Float32Array(f * c);
    for (let fi = 0; fi < f; fi++)
      wt.set(weight.subarray(fi * width + t * c, fi * width + t * c + c), fi * c);
    return g.op("MatMul", [g.float(`${path}.w${t}`, [f, c], wt), term], {}, "cg_part");
  });
  let y = products.length === 1 ? products[0] : g.op("Sum", products, {}, "cg_sum_terms");
  if (bias) y = g.op("Add", [y, g.float(`${path}.bias`, [f, 1], bias)], {}, "cg_biased");
  return g.op("Reshape", [y, g.int64("shape", [0, f, oh, ow])], {}, `${path}.out`);
}

/** [N, C·T, oh, ow] in channel-major order from a depthwise one-hot conv and Gathers. */
function depthwiseFeatures(ctx: EmitContext, x: string, geo: Geometry, order: number): string {
  const { g } = ctx;
  const { k, s, d, pads, oh, ow, c } = geo;
  const kk = k * k;
  const oneHot = new Float32Array(c * kk * kk);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < kk; p++) oneHot[(ch * kk + p) * kk + p] = 1;
  const stacked = g.op(
    "Conv",
    [x, g.float("cg_onehot", [c * kk, 1, k, k], oneHot)],
    { group: c, kernel_shape: [k, k], strides: [s, s], dilations: [d, d], pads },
    "cg_views",
  );
  const views = g.op("Reshape", [stacked, g.int64("shape", [0, c, kk, oh, ow])], {}, "cg_views5");
  const degrees = [views];
  let previous = views;
  for (const step of degreeSteps(kk, order)) {
    const parents = g.op("Gather", [previous, g.int64("idx", step.parents)], { axis: 2 });
    const vars = g.op("Gather", [views, g.int64("idx", step.variables)], { axis: 2 });
    previous = g.op("Mul", [parents, vars], {}, "cg_degree");
    degrees.push(previous);
  }
  const all = degrees.length === 1 ? views : g.op("Concat", degrees, { axis: 2 }, "cg_terms");
  return g.op("Reshape", [all, g.int64("shape", [0, -1, oh, ow])], {}, "cg_features");
}

export function emitCg(
  ctx: EmitContext,
  layer: CgLayer,
  input: Value,
  outShape: number[],
  path: string,
  affine: ChannelAffine | undefined,
): Value {
  const { g } = ctx;
  const geo = geometry(layer, input, outShape);
  const kernel = weight(ctx, `${path}.kernel`);
  const terms = kernel.shape[0];
  const depthwise = ctx.cgMode === "depthwise";
  const bias = optionalWeight(ctx, `${path}.bias`)?.data;
  const large = terms * (layer.shared ? 1 : geo.c) * geo.oh * geo.ow >= AUTO_MATMUL_FEATURES;
  if (ctx.cgMode === "matmul" || (ctx.cgMode === "auto" && large)) {
    const folded = foldOutputMajor(cgToPointwise(kernel, "termMajor"), bias, layer.filters, affine);
    const out = matmulCg(ctx, layer, input.name, geo, folded.weight, folded.bias, path);
    return { name: out, shape: outShape };
  }
  let features = depthwise
    ? depthwiseFeatures(ctx, input.name, geo, layer.order)
    : sliceFeatures(ctx, input.name, geo, layer.order);
  if (layer.shared) {
    const split = depthwise ? [0, geo.c, terms, geo.oh, geo.ow] : [0, terms, geo.c, geo.oh, geo.ow];
    const grouped = g.op("Reshape", [features, g.int64("shape", split)], {}, "cg_grouped");
    features = g.op("ReduceSum", [grouped, g.int64("axes", [depthwise ? 1 : 2])], {
      keepdims: 0,
    });
  }
  const width = layer.shared ? terms : terms * geo.c;
  const pointwise = cgToPointwise(kernel, depthwise ? "channelMajor" : "termMajor");
  const folded = foldOutputMajor(pointwise, bias, layer.filters, affine);
  const inputs = [features, g.float(`${path}.weight`, [layer.filters, width, 1, 1], folded.weight)];
  if (folded.bias) inputs.push(g.float(`${path}.bias`, [layer.filters], folded.bias));
  return { name: g.op("Conv", inputs, { kernel_shape: [1, 1] }, `${path}.out`), shape: outShape };
}
