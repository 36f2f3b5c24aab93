// Weight re-layouts from the tfjs parameter conventions of src/nn/spec.ts to ONNX's, and the
// batch-norm fold (y·scale + shift per output channel) applied to a layer's weights and bias.
import type { WeightTensor } from "../nn/weights.js";

/** Per-output-channel affine map that follows a linear layer (a folded batch norm). */
export interface ChannelAffine {
  scale: Float32Array;
  shift: Float32Array;
}

export function batchNormAffine(
  gamma: WeightTensor,
  beta: WeightTensor,
  mean: WeightTensor,
  variance: WeightTensor,
  epsilon: number,
): ChannelAffine {
  const c = gamma.data.length;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = gamma.data[i] / Math.sqrt(variance.data[i] + epsilon);
    shift[i] = beta.data[i] - mean.data[i] * scale[i];
  }
  return { scale, shift };
}

/** HWIO [k, k, I, O] → OIHW [O, I, k, k]. */
export function hwioToOihw(kernel: WeightTensor): Float32Array {
  const [kh, kw, ci, co] = kernel.shape;
  const out = new Float32Array(kernel.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          out[((o * ci + i) * kh + y) * kw + x] = kernel.data[((y * kw + x) * ci + i) * co + o];
        }
  return out;
}

/**
 * CG kernel [T, C, F] → 1×1 conv weight [F, T·C]: term-major (index t·C + c, as src/nn/cg.ts
 * concatenates) or channel-major (index c·T + t).
 */
export function cgToPointwise(
  kernel: WeightTensor,
  order: "termMajor" | "channelMajor",
): Float32Array {
  const [t, c, f] = kernel.shape;
  const out = new Float32Array(kernel.data.length);
  for (let ti = 0; ti < t; ti++)
    for (let ci = 0; ci < c; ci++)
      for (let fi = 0; fi < f; fi++) {
        const column = order === "termMajor" ? ti * c + ci : ci * t + ti;
        out[fi * t * c + column] = kernel.data[(ti * c + ci) * f + fi];
      }
  return out;
}

/** The bias after y·scale + shift (a missing bias counts as zeros). */
function foldBias(bias: Float32Array | undefined, outputs: number, affine: ChannelAffine) {
  const b = new Float32Array(outputs);
  for (let o = 0; o < outputs; o++) b[o] = (bias ? bias[o] : 0) * affine.scale[o] + affine.shift[o];
  return b;
}

/** Scales an [O, ...] weight's rows and maps the bias through y·scale + shift. */
export function foldOutputMajor(
  weight: Float32Array,
  bias: Float32Array | undefined,
  outputs: number,
  affine: ChannelAffine | undefined,
): { weight: Float32Array; bias: Float32Array | undefined } {
  if (!affine) return { weight, bias };
  const per = weight.length / outputs;
  const w = new Float32Array(weight.length);
  for (let o = 0; o < outputs; o++) {
    for (let j = 0; j < per; j++) w[o * per + j] = weight[o * per + j] * affine.scale[o];
  }
  return { weight: w, bias: foldBias(bias, outputs, affine) };
}

/** The same fold for a dense kernel [in, units] (output index last). */
export function foldOutputMinor(
  weight: Float32Array,
  bias: Float32Array | undefined,
  outputs: number,
  affine: ChannelAffine | undefined,
): { weight: Float32Array; bias: Float32Array | undefined } {
  if (!affine) return { weight, bias };
  const w = new Float32Array(weight.length);
  for (let j = 0; j < weight.length; j++) w[j] = weight[j] * affine.scale[j % outputs];
  return { weight: w, bias: foldBias(bias, outputs, affine) };
}
