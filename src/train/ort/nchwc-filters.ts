// The JS side of the training step's NCHWc convolutions: each step's filters written again in
// MLAS's blocked layout (and rotated/transposed for the input gradient) into buffers that the
// feeds keep, since the weights change every step.
import type { Weights } from "../../nn/weights.js";
import { blockFilter } from "./nchwc-forward.js";
import type { BlockedStepFilter } from "./nchwc-train.js";

/**
 * The input-gradient filter of a conv in spec layout: HWIO [k, k, Cin, F] → [k, k, F, Cin] with
 * each kernel rotated 180° (out[kh, kw, o, i] = hwio[k−1−kh, k−1−kw, i, o]).
 */
export function flipFilter(
  hwio: Float32Array,
  [f, cin, k]: BlockedStepFilter["shape"],
  out: Float32Array,
): void {
  const kk = k * k;
  for (let p = 0; p < kk; p++) {
    const from = (kk - 1 - p) * cin * f;
    const to = p * f * cin;
    for (let i = 0; i < cin; i++)
      for (let o = 0; o < f; o++) out[to + o * cin + i] = hwio[from + i * f + o];
  }
}

/** One buffer per blocked filter, refilled from the weights before each step. */
export class BlockedFilterFeeds {
  private readonly buffers: Float32Array[];
  private readonly scratch: Float32Array;

  constructor(
    readonly filters: BlockedStepFilter[],
    private readonly block: number,
  ) {
    const sizes = filters.map((b) => b.shape.reduce((a, c) => a * c, 1));
    this.buffers = sizes.map((n) => new Float32Array(n));
    this.scratch = new Float32Array(Math.max(0, ...sizes));
  }

  /** The blocked buffers, in `filters` order, for `weights` (each ready to wrap in a tensor). */
  fill(weights: Weights): Float32Array[] {
    this.filters.forEach((b, i) => {
      const w = weights[b.weight];
      if (!w) throw new Error(`ORT training: missing weight ${b.weight}`);
      const [f, cin, k] = b.shape;
      if (b.flipped) {
        // b.shape is the flipped conv's [Cin, F, k, k]; the parameter is [k, k, Cin, F].
        flipFilter(w.data, [cin, f, k, k], this.scratch);
        blockFilter(this.scratch, b.shape, this.block, this.buffers[i]);
      } else {
        blockFilter(w.data, b.shape, this.block, this.buffers[i]);
      }
    });
    return this.buffers;
  }
}
