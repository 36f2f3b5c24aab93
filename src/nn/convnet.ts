// The distillation ConvNet of Fig. 8 as a ModelSpec: the random embedding f of Eq. 5.
import type { LayerSpec, ModelSpec } from "./spec.js";

export interface ConvNetOptions {
  /** [height, width, channels]; default MNIST's [28, 28, 1]. */
  input?: [number, number, number];
  /** Channels of every conv (paper: 128). */
  width?: number;
  /** Number of conv blocks (paper: 3). */
  depth?: number;
  /** Per-channel normalisation of the raw [0, 1] pixels; default MNIST's. */
  mean?: number[];
  std?: number[];
}

/**
 * depth × [conv 3×3 (no bias: instance norm removes it), instance norm, ReLU, 2×2 avg-pool],
 * then flatten. The first conv pads the input up to a multiple of 2^depth, so a 28×28 input acts
 * as 32×32 (Fig. 8's Conv(3,3,128,1,1,3)); the others pad 1. MNIST: 28 → 32 → 16 → 8 → 4, an embedding of 4·4·width = 2048 at width 128.
 */
export function distillConvNetSpec(options: ConvNetOptions = {}): ModelSpec {
  const input = options.input ?? [28, 28, 1];
  const width = options.width ?? 128;
  const depth = options.depth ?? 3;
  const channels = input[2];
  const mean = options.mean ?? new Array(channels).fill(channels === 1 ? 0.1307 : 0.5);
  const std = options.std ?? new Array(channels).fill(channels === 1 ? 0.3081 : 0.25);
  const block = 2 ** depth;
  const side = Math.min(input[0], input[1]);
  const firstPadding = 1 + Math.floor((Math.ceil(side / block) * block - side) / 2);
  const layers: LayerSpec[] = [{ kind: "normalize", mean, std }];
  for (let i = 0; i < depth; i++) {
    layers.push(
      {
        kind: "conv2d",
        filters: width,
        kernel: 3,
        padding: i === 0 ? firstPadding : 1,
        bias: false,
      },
      { kind: "instanceNorm" },
      { kind: "relu" },
      { kind: "avgPool", size: 2 },
    );
  }
  layers.push({ kind: "flatten" });
  return { name: `distill-convnet-w${width}`, input, layers, output: "embedding" };
}
