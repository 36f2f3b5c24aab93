// The training step's convolutions (but 1×1 stride-1 ones) on onnxruntime's NCHWc kernels
// (com.microsoft.nchwc Conv): its NCHWc rewrite skips convs whose filters are graph inputs, as
// every filter of the step is, so the graph names the blocked kernels and the engine feeds each
// filter blocked (nchwc-filters.ts).
import type { AttrValue } from "../../onnx/proto.js";
import type { GradContext } from "./grad-context.js";
import { nchwcOp } from "./nchwc-ops.js";

/**
 * A filter the step feeds a second time in MLAS's blocked layout, from the spec-layout (HWIO)
 * parameter `weight`: as is (shape [F, Cin, k, k]) for the forward conv, or `flipped` (each
 * kernel rotated 180°, input and output channels swapped: shape [Cin, F, k, k]) for the conv
 * that gives the input gradient.
 */
export interface BlockedStepFilter {
  input: string;
  weight: string;
  shape: [number, number, number, number];
  flipped: boolean;
}

/**
 * Whether a conv with `cin` input and `f` output channels runs on the NCHWc kernels with block
 * size `block`: whole blocks of outputs, and of inputs from 8 channels on (below 8, the kernel
 * reads the input in NCHW), as the distillation's forward requires.
 */
export function nchwcConvFits(cin: number, f: number, block: number | undefined): boolean {
  if (!(block !== undefined && block > 1)) return false;
  return f % block === 0 && (cin < 8 || cin % block === 0);
}

/**
 * A conv of the NCHW value `x` ([N, cin, H, W]) with a blocked filter, as an NCHW value of `f`
 * channels: ReorderInput (from 8 input channels), the NCHWc Conv, ReorderOutput.
 */
export function nchwcConv(
  ctx: GradContext,
  x: string,
  cin: number,
  f: number,
  filter: string,
  bias: string | undefined,
  attrs: Record<string, AttrValue>,
  base: string,
): string {
  const input = cin >= 8 ? nchwcOp(ctx.g, "ReorderInput", [x], {}, `${base}_in`) : x;
  const inputs = bias ? [input, filter, bias] : [input, filter];
  const y = nchwcOp(ctx.g, "Conv", inputs, attrs, `${base}_nchwc`);
  return nchwcOp(ctx.g, "ReorderOutput", [y], { channels: f }, base);
}
