// Sum and Mean over leading or middle axes (bias gradients, batch-norm and instance-norm
// moments, global average pooling) as one XNNPACK average pool over a [reduced, 1] window:
// wasm's own kernels first transpose the reduced axes innermost, which costs ~15× more.
// (A matMul with a row of ones is no better: XNNPACK packs the big operand first.)
import * as tf from "../tf.js";
import { opsAsKernel } from "./ops-as-kernel.js";

interface ReduceAttrs {
  axis: number | number[] | null;
  keepDims: boolean;
}

/** [outer, reduced, inner] when the axes are one contiguous block that excludes the last axis. */
function reductionBlock(
  shape: number[],
  axis: number | number[] | null,
): { outer: number; reduced: number; inner: number; axes: number[] } | undefined {
  const rank = shape.length;
  const axes = [
    ...new Set(axis == null ? shape.map((_, i) => i) : tf.util.parseAxisParam(axis, shape)),
  ].sort((a, b) => a - b);
  if (axes.length === 0 || rank < 2) return undefined;
  const first = axes[0];
  const last = axes[axes.length - 1];
  if (last - first + 1 !== axes.length || last >= rank - 1) return undefined;
  const prod = (from: number, to: number) => shape.slice(from, to).reduce((p, q) => p * q, 1);
  return {
    outer: prod(0, first),
    reduced: prod(first, last + 1),
    inner: prod(last + 1, rank),
    axes,
  };
}

function outShape(shape: number[], axes: number[], keepDims: boolean): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

function fastReduction(kernelName: "Sum" | "Mean"): tf.KernelConfig | undefined {
  const stock = tf.getKernel(kernelName, "wasm");
  if (!stock) return undefined;
  return {
    ...stock,
    kernelFunc: (args) => {
      const { inputs, attrs, backend } = args;
      const { x } = inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = attrs as unknown as ReduceAttrs;
      const block = x.dtype === "float32" ? reductionBlock(x.shape, axis) : undefined;
      if (!block || block.reduced < 2) return stock.kernelFunc(args);
      const { outer, reduced, inner, axes } = block;
      return opsAsKernel(backend as tf.KernelBackend, [x], (t) => {
        const column = tf.reshape(t, [outer, reduced, 1, inner]) as tf.Tensor4D;
        const mean = tf.avgPool(column, [reduced, 1], 1, "valid");
        const value = kernelName === "Mean" ? mean : tf.mul(mean, reduced);
        return tf.reshape(value, outShape(x.shape, axes, keepDims));
      });
    },
  };
}

let installed = false;

/** Replaces wasm's Sum and Mean kernels by versions with the matMul fast path (idempotent). */
export function installFastReductions(): void {
  if (installed) return;
  for (const name of ["Sum", "Mean"] as const) {
    const config = fastReduction(name);
    if (!config) continue;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
  }
  installed = true;
}
