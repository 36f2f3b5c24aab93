// The contract between the training graph and the engine for its convolutions on onnxruntime's
// NCHWc kernels (but 1×1 stride-1 ones): onnxruntime's NCHWc rewrite skips convs whose filters
// are graph inputs, as every filter of the step is, so the graph names the blocked kernels
// (layer-grads.ts, nchwc-ops.ts's nchwcConv) and the engine feeds each filter blocked
// (nchwc-filters.ts).

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
