// Lets a kernel be written with tfjs ops: wraps the input buffers as tensors and hands the
// result's buffer to the engine without copying (kernels run with the gradient tape off).
import * as tf from "../tf.js";

interface RefCounted {
  incRef(dataId: object): void;
}

export function opsAsKernel(
  backend: tf.KernelBackend,
  inputs: tf.TensorInfo[],
  fn: (...ts: tf.Tensor[]) => tf.Tensor,
): tf.TensorInfo {
  const engine = tf.engine();
  const counted = backend as unknown as RefCounted;
  const wrapped = inputs.map((info) => {
    counted.incRef(info.dataId);
    return engine.makeTensorFromTensorInfo(info, backend);
  });
  try {
    const out = tf.tidy(() => fn(...wrapped));
    counted.incRef(out.dataId);
    const info = { dataId: out.dataId, shape: out.shape, dtype: out.dtype };
    out.dispose();
    return info;
  } finally {
    for (const t of wrapped) t.dispose();
  }
}
