// Installs the training kernels that the wasm backend lacks or runs slowly: Conv2D and
// BatchMatMul gradients from fast kernels, Conv2DBackpropFilter and UnsortedSegmentSum kernels,
// and Sum/Mean over leading axes as matMuls.
import * as tf from "../tf.js";
import {
  type Conv2DAttrs,
  conv2dFilterGrad,
  conv2dInputGrad,
  convGeometry,
} from "./conv2d-grad.js";
import { matMulGrads } from "./matmul-grad.js";
import { opsAsKernel } from "./ops-as-kernel.js";
import { installFastReductions } from "./reductions.js";
import { unsortedSegmentSumConfig } from "./unsorted-segment-sum.js";

type Shape4 = [number, number, number, number];

let stock: { conv: tf.GradConfig; matMul: tf.GradConfig } | undefined;
let useStock = false;

function dilated(attrs: Conv2DAttrs): boolean {
  const d = attrs.dilations ?? 1;
  return typeof d === "number" ? d > 1 : d[0] > 1 || d[1] > 1;
}

function fastPath(): boolean {
  return !useStock && tf.getBackend() === "wasm";
}

const conv2dGrad: tf.GradConfig = {
  kernelName: "Conv2D",
  inputsToSave: ["x", "filter"],
  gradFunc: (dy, saved, attrs) => {
    const a = attrs as unknown as Conv2DAttrs;
    if (stock && !fastPath() && !dilated(a)) return stock.conv.gradFunc(dy, saved, attrs);
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    if ((a.dataFormat ?? "NHWC") !== "NHWC") throw new Error("Conv2D gradient: NHWC only");
    const geometry = convGeometry(x.shape, filter.shape, a);
    return {
      x: () => conv2dInputGrad(x.shape, dy as tf.Tensor4D, filter, geometry),
      filter: () => conv2dFilterGrad(x, dy as tf.Tensor4D, filter.shape, geometry),
    };
  },
};

const matMulGrad: tf.GradConfig = {
  kernelName: "BatchMatMul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved, attrs) => {
    if (stock && !fastPath()) return stock.matMul.gradFunc(dy, saved, attrs);
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    return matMulGrads(dy as tf.Tensor, a, b, transposeA, transposeB);
  },
};

const backpropFilterKernel: tf.KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as Conv2DAttrs & { filterShape: Shape4 };
    const geometry = convGeometry(x.shape as Shape4, a.filterShape, { ...a, dilations: 1 });
    return opsAsKernel(backend as tf.KernelBackend, [x, dy], (xt, dyt) =>
      conv2dFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, a.filterShape, geometry),
    );
  },
};

/** Idempotent. Gradients apply on every backend (dilated Conv2D everywhere, the rest on wasm). */
export function registerTrainingKernels(): void {
  if (stock) return;
  const conv = tf.getGradient("Conv2D");
  const matMul = tf.getGradient("BatchMatMul");
  if (!conv || !matMul) throw new Error("tfjs core gradients are not loaded");
  stock = { conv, matMul };
  tf.registerGradient(conv2dGrad);
  tf.registerGradient(matMulGrad);
  for (const kernel of [backpropFilterKernel, unsortedSegmentSumConfig]) {
    if (!tf.getKernel(kernel.kernelName, "wasm")) tf.registerKernel(kernel);
  }
  installFastReductions();
}

/** For benchmarks and parity tests: true routes gradients through tfjs's stock definitions. */
export function setStockGradients(on: boolean): void {
  useStock = on;
}
