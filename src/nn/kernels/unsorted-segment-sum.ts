// UnsortedSegmentSum for wasm (missing there; tf.gather's gradient needs it, e.g. for the
// monomial features): a plain loop over the rows, accumulated in float32 like the cpu kernel.
import type * as tf from "../tf.js";

interface WasmLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
}

function unsortedSegmentSumValues(
  x: Float32Array | Int32Array,
  xShape: number[],
  ids: Int32Array,
  numSegments: number,
): { values: Float32Array; shape: number[] } {
  const rows = ids.length;
  const innerSize = xShape.slice(1).reduce((p, q) => p * q, 1);
  const values = new Float32Array(numSegments * innerSize);
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    if (id < 0 || id >= numSegments) continue;
    const src = r * innerSize;
    const dst = id * innerSize;
    for (let i = 0; i < innerSize; i++) values[dst + i] += x[src + i];
  }
  return { values, shape: [numSegments, ...xShape.slice(1)] };
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: "UnsortedSegmentSum",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as unknown as WasmLike;
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as { numSegments: number };
    if (
      x.shape[0] !== segmentIds.shape.reduce((p, q) => p * q, 1) ||
      segmentIds.shape.length !== 1
    ) {
      throw new Error("UnsortedSegmentSum on wasm supports 1-D segment ids over the first axis");
    }
    const ids = Int32Array.from(wasm.readSync(segmentIds.dataId) as Int32Array);
    const data = wasm.readSync(x.dataId) as Float32Array;
    const { values, shape } = unsortedSegmentSumValues(data, x.shape, ids, numSegments);
    return wasm.makeOutput(shape, "float32", undefined, values);
  },
};
