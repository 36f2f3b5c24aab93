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

/**
 * flipFilter then blockFilter's OIHWBiBo in one pass: `shape` is the flipped conv's [Cin, F, k, k]
 * (F ≥ 8, both whole blocks), `hwio` the parameter [k, k, Cin, F]. Each source run of `block`
 * output channels is contiguous.
 */
export function blockFlippedFilter(
  hwio: Float32Array,
  [cin, f, k]: BlockedStepFilter["shape"],
  block: number,
  out: Float32Array,
): void {
  const kk = k * k;
  const outBlocks = cin / block;
  const inBlocks = f / block;
  const bb = block * block;
  for (let ob = 0; ob < outBlocks; ob++)
    for (let ib = 0; ib < inBlocks; ib++)
      for (let p = 0; p < kk; p++) {
        const to = ((ob * inBlocks + ib) * kk + p) * bb;
        const base = (kk - 1 - p) * cin;
        for (let bo = 0; bo < block; bo++) {
          const from = (base + ob * block + bo) * f + ib * block;
          for (let bi = 0; bi < block; bi++) out[to + bi * block + bo] = hwio[from + bi];
        }
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
      if (b.flipped && cin >= 8) {
        blockFlippedFilter(w.data, b.shape, this.block, this.buffers[i]);
      } else if (b.flipped) {
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
