// The distillation's named configurations and distribution-matching defaults, shared by
// scripts/distill.ts, the upper-level sweep and the distillation benchmarks.
import {
  CIFAR10_NORMALIZATION,
  MNIST_NORMALIZATION,
  type Normalization,
} from "../data/normalize.js";

export interface Preset {
  fanIns: number[];
  iterations: number;
  width: number;
  limit?: number;
}

/**
 * quick: seconds, for tests/CI/demos (first 1200 images, 4 levels). cpu: the full five-level
 * MNIST run sized to finish within 60 min on 2 cores with 2 workers (measured: see RESULTS).
 * paper: Fig. 8's width 128 and many iterations, for a GPU backend (--backend tensorflow).
 */
export const PRESETS: Record<string, Preset> = {
  quick: { fanIns: [10, 3, 2, 2], iterations: 4, width: 8, limit: 1200 },
  cpu: { fanIns: [10, 6, 5, 5, 4], iterations: 60, width: 32 },
  paper: { fanIns: [10, 6, 5, 5, 4], iterations: 1000, width: 128 },
};

/** DM's SGD (lr 1, momentum 0.5) and the paper's λ = 19. */
export const DM_DEFAULTS = { lr: 1, momentum: 0.5, lambda: 19 } as const;

/** The ConvNet's input normalisation for images of `channels` channels. */
export function dmNormalization(channels: number): Normalization {
  if (channels === 1) return MNIST_NORMALIZATION;
  if (channels === 3) return CIFAR10_NORMALIZATION;
  return { mean: new Array(channels).fill(0.5), std: new Array(channels).fill(0.25) };
}
