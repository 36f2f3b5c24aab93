// Shared state of the training-graph emitters: the graph being built, the weight inputs, the
// gradient and batch-statistics outputs, and small op helpers used by several layer emitters.
import type { Shape } from "../../nn/spec.js";
import type { GraphBuilder } from "../../onnx/graph-builder.js";

/** A graph value and its spec shape without the batch ([H, W, C] is stored NCHW). */
export interface Value {
  name: string;
  shape: Shape;
}

/** Maps the gradient of a layer's output to the gradient of its input (or nothing). */
export type Backward = (dy: string) => string | undefined;

export interface LayerResult {
  out: Value;
  backward: Backward;
}

export interface GradContext {
  g: GraphBuilder;
  /** The graph input that carries a parameter (spec layout). */
  weight(name: string): string;
  /** Whether the gradient of a parameter is wanted (emitters skip building the others). */
  wants(name: string): boolean;
  /** Records the gradient of a parameter (spec layout); ignored for frozen ones. */
  grad(name: string, value: string): void;
  batchStats(path: string, mean: string, variance: string): void;
  /**
   * The graph input that carries parameter `weight` blocked for the NCHWc kernels (as is, or
   * flipped for the input gradient; nchwc-train.ts); absent where the graph has no NCHWc convs.
   */
  blockedFilter?(weight: string, shape: [number, number, number, number], flipped: boolean): string;
}

/** ReduceSum over `axes` (opset 13+: axes as an input). */
export function reduceSum(ctx: GradContext, x: string, axes: number[], keepdims = 0): string {
  return ctx.g.op("ReduceSum", [x, ctx.g.int64("axes", axes)], { keepdims }, "sum");
}

export function reshape(ctx: GradContext, x: string, shape: number[], base = "reshape"): string {
  return ctx.g.op("Reshape", [x, ctx.g.int64("shape", shape)], {}, base);
}

export function transpose(ctx: GradContext, x: string, perm: number[], base = "t"): string {
  return ctx.g.op("Transpose", [x], { perm }, base);
}

/** Adds gradient contributions (one value passes through). */
export function sumAll(ctx: GradContext, parts: string[], base = "acc"): string {
  if (parts.length === 0) throw new Error("no gradient contributions to sum");
  return parts.length === 1 ? parts[0] : ctx.g.op("Sum", parts, {}, base);
}
