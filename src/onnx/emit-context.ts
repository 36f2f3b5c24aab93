// Shared state for the layer emitters: the graph being built, the weights, and the value
// flowing between layers (NCHW inside the graph for HWC shapes, [N, F] for flat ones).
import type { Shape } from "../nn/spec.js";
import type { Weights, WeightTensor } from "../nn/weights.js";
import type { GraphBuilder } from "./graph-builder.js";

/**
 * How a CG layer is built: k·k Slice views concatenated into a 1×1 conv ("slice"), one depthwise
 * one-hot conv + Gathers into a 1×1 conv ("depthwise"), or Slice views with one MatMul per term
 * summed, no concatenation ("matmul"); "auto" picks matmul for layers whose concatenated
 * features per image (T·C·oh·ow) reach AUTO_MATMUL_FEATURES, else slice (bench/infer.ts).
 */
export type CgMode = "slice" | "depthwise" | "matmul" | "auto";

export const AUTO_MATMUL_FEATURES = 65536;

export interface EmitContext {
  g: GraphBuilder;
  weights: Weights;
  cgMode: CgMode;
}

/** A graph value and its spec shape without the batch ([H, W, C] is stored NCHW). */
export interface Value {
  name: string;
  shape: Shape;
}

export function weight(ctx: EmitContext, name: string): WeightTensor {
  const w = ctx.weights[name];
  if (!w) throw new Error(`ONNX export: missing weight ${name}`);
  return w;
}

export function optionalWeight(ctx: EmitContext, name: string): WeightTensor | undefined {
  return ctx.weights[name];
}
