// One ONNX subgraph per spec layer (NCHW inside), with batch norms folded into the linear
// layer (conv2d, cg, dense) that directly precedes them.
import { countMonomialsOfDegree } from "../nn/monomials.js";
import {
  type Conv2dLayer,
  type DenseLayer,
  type LayerSpec,
  layerOutputShape,
  type Shape,
  windowGeometry,
} from "../nn/spec.js";
import { emitCg } from "./cg-export.js";
import { type EmitContext, optionalWeight, type Value, weight } from "./emit-context.js";
import {
  batchNormAffine,
  type ChannelAffine,
  foldOutputMajor,
  foldOutputMinor,
  hwioToOihw,
} from "./weights-layout.js";

/** A per-channel constant that broadcasts over NCHW ([C, 1, 1]) or [N, C] ([C]). */
function channelConstant(ctx: EmitContext, base: string, shape: Shape, data: number[]): string {
  const dims = shape.length === 3 ? [data.length, 1, 1] : [data.length];
  return ctx.g.float(base, dims, Float32Array.from(data));
}

/** NCHW → [N, H·W·C] in NHWC order, as tfjs flattens. */
function flattenNhwc(ctx: EmitContext, x: Value): Value {
  if (x.shape.length === 1) return x;
  const { g } = ctx;
  const nhwc = x.shape.length === 3 ? g.op("Transpose", [x.name], { perm: [0, 2, 3, 1] }) : x.name;
  const size = x.shape.reduce((a, b) => a * b, 1);
  return { name: g.op("Flatten", [nhwc], { axis: 1 }), shape: [size] };
}

function conv2d(
  ctx: EmitContext,
  layer: Conv2dLayer,
  x: Value,
  out: Shape,
  path: string,
  affine: ChannelAffine | undefined,
): Value {
  const { g } = ctx;
  const {
    k,
    s,
    d,
    pads: [top, left, bottom, right],
  } = windowGeometry(layer, x.shape[0], x.shape[1]);
  const kernel = weight(ctx, `${path}.kernel`);
  const bias = optionalWeight(ctx, `${path}.bias`)?.data;
  const folded = foldOutputMajor(hwioToOihw(kernel), bias, layer.filters, affine);
  const inputs = [
    x.name,
    g.float(`${path}.weight`, [layer.filters, x.shape[2], k, k], folded.weight),
  ];
  if (folded.bias) inputs.push(g.float(`${path}.bias`, [layer.filters], folded.bias));
  const name = g.op(
    "Conv",
    inputs,
    {
      kernel_shape: [k, k],
      strides: [s, s],
      dilations: [d, d],
      pads: [top, left, bottom, right],
    },
    `${path}.out`,
  );
  return { name, shape: out };
}

function dense(
  ctx: EmitContext,
  layer: DenseLayer,
  x: Value,
  path: string,
  affine: ChannelAffine | undefined,
): Value {
  const { g } = ctx;
  const flat = flattenNhwc(ctx, x);
  const kernel = weight(ctx, `${path}.kernel`);
  const bias = optionalWeight(ctx, `${path}.bias`)?.data;
  const folded = foldOutputMinor(kernel.data, bias, layer.units, affine);
  const inputs = [flat.name, g.float(`${path}.weight`, kernel.shape, folded.weight)];
  if (folded.bias) inputs.push(g.float(`${path}.bias`, [layer.units], folded.bias));
  return { name: g.op("Gemm", inputs, {}, `${path}.out`), shape: [layer.units] };
}

/** Eq. 3 on the flattened input: Gather + Mul per degree, concatenated in canonical order. */
function monomials(ctx: EmitContext, order: number, x: Value, out: Shape): Value {
  const { g } = ctx;
  const flat = flattenNhwc(ctx, x);
  const vars = flat.shape[0];
  const degrees = [flat.name];
  let previous = flat.name;
  let parents: number[][] = Array.from({ length: vars }, (_, i) => [i]);
  for (let d = 2; d <= order; d++) {
    const next: number[][] = [];
    const parentIdx: number[] = [];
    const variableIdx: number[] = [];
    parents.forEach((tuple, p) => {
      for (let v = tuple[tuple.length - 1]; v < vars; v++) {
        next.push([...tuple, v]);
        parentIdx.push(p);
        variableIdx.push(v);
      }
    });
    if (next.length !== countMonomialsOfDegree(vars, d)) throw new Error("monomial count");
    const a = g.op("Gather", [previous, g.int64("idx", parentIdx)], { axis: 1 });
    const b = g.op("Gather", [flat.name, g.int64("idx", variableIdx)], { axis: 1 });
    previous = g.op("Mul", [a, b], {}, "monomials");
    degrees.push(previous);
    parents = next;
  }
  const name = degrees.length === 1 ? flat.name : g.op("Concat", degrees, { axis: 1 });
  return { name, shape: out };
}

function foldableNext(layers: LayerSpec[], i: number): boolean {
  const kind = layers[i].kind;
  return (
    (kind === "conv2d" || kind === "cg" || kind === "dense") && layers[i + 1]?.kind === "batchNorm"
  );
}

export function emitLayers(
  ctx: EmitContext,
  layers: LayerSpec[],
  input: Value,
  prefix = "",
): Value {
  let x = input;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    const out = layerOutputShape(layer, x.shape, path);
    let affine: ChannelAffine | undefined;
    if (foldableNext(layers, i)) {
      const bn = layers[i + 1] as Extract<LayerSpec, { kind: "batchNorm" }>;
      const bnPath = prefix ? `${prefix}.${i + 1}` : `${i + 1}`;
      affine = batchNormAffine(
        weight(ctx, `${bnPath}.gamma`),
        weight(ctx, `${bnPath}.beta`),
        weight(ctx, `${bnPath}.movingMean`),
        weight(ctx, `${bnPath}.movingVariance`),
        bn.epsilon ?? 1e-5,
      );
      i++;
    }
    x = emitLayer(ctx, layer, x, out, path, affine);
  }
  return x;
}

function emitLayer(
  ctx: EmitContext,
  layer: LayerSpec,
  x: Value,
  out: Shape,
  path: string,
  affine: ChannelAffine | undefined,
): Value {
  const { g } = ctx;
  switch (layer.kind) {
    case "conv2d":
      return conv2d(ctx, layer, x, out, path, affine);
    case "cg":
      return emitCg(ctx, layer, x, out, path, affine);
    case "dense":
      return dense(ctx, layer, x, path, affine);
    case "batchNorm": {
      const c = x.shape.at(-1) ?? 1;
      const name = g.op(
        "BatchNormalization",
        [
          x.name,
          g.float(`${path}.gamma`, [c], weight(ctx, `${path}.gamma`).data),
          g.float(`${path}.beta`, [c], weight(ctx, `${path}.beta`).data),
          g.float(`${path}.mean`, [c], weight(ctx, `${path}.movingMean`).data),
          g.float(`${path}.var`, [c], weight(ctx, `${path}.movingVariance`).data),
        ],
        { epsilon: { float: layer.epsilon ?? 1e-5 } },
        `${path}.out`,
      );
      return { name, shape: out };
    }
    case "instanceNorm": {
      const c = x.shape[2];
      const gamma = layer.affine ? weight(ctx, `${path}.gamma`).data : new Float32Array(c).fill(1);
      const beta = layer.affine ? weight(ctx, `${path}.beta`).data : new Float32Array(c);
      const name = g.op(
        "InstanceNormalization",
        [x.name, g.float(`${path}.gamma`, [c], gamma), g.float(`${path}.beta`, [c], beta)],
        { epsilon: { float: layer.epsilon ?? 1e-5 } },
        `${path}.out`,
      );
      return { name, shape: out };
    }
    case "relu":
      return { name: g.op("Relu", [x.name], {}, `${path}.out`), shape: out };
    case "avgPool": {
      const stride = layer.stride ?? layer.size;
      const name = g.op(
        "AveragePool",
        [x.name],
        { kernel_shape: [layer.size, layer.size], strides: [stride, stride] },
        `${path}.out`,
      );
      return { name, shape: out };
    }
    case "globalAvgPool": {
      const pooled = g.op("GlobalAveragePool", [x.name]);
      return { name: g.op("Flatten", [pooled], { axis: 1 }, `${path}.out`), shape: out };
    }
    case "flatten":
      return flattenNhwc(ctx, x);
    case "monomials":
      return monomials(ctx, layer.order, x, out);
    case "residual": {
      const body = emitLayers(ctx, layer.body, x, `${path}.body`);
      const shortcut = emitLayers(ctx, layer.shortcut, x, `${path}.shortcut`);
      return { name: g.op("Add", [body.name, shortcut.name], {}, `${path}.out`), shape: out };
    }
    case "normalize": {
      const centred = g.op("Sub", [
        x.name,
        channelConstant(ctx, `${path}.mean`, x.shape, layer.mean),
      ]);
      const name = g.op(
        "Div",
        [centred, channelConstant(ctx, `${path}.std`, x.shape, layer.std)],
        {},
        `${path}.out`,
      );
      return { name, shape: out };
    }
    case "l2normalize":
      return { name: l2Normalize(ctx, x, path), shape: out };
  }
}

/** x / max(‖x‖₂, 1e-12) over the channel axis, as src/nn/forward.ts computes it. */
export function l2Normalize(ctx: EmitContext, x: Value, base: string): string {
  const { g } = ctx;
  const axis = x.shape.length === 3 ? 1 : -1;
  const norm = g.op("ReduceL2", [x.name], { axes: [axis], keepdims: 1 });
  const floor = g.float("l2_floor", [], Float32Array.of(1e-12));
  const safe = g.op("Max", [norm, floor]);
  return g.op("Div", [x.name, safe], {}, `${base}.out`);
}
