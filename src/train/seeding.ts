// Where randomness enters training: the per-epoch data order and the per-step augmentation seed,
// both derived from (seed, epoch, step) so that a resumed run replays the same batches.
import { initParam, type Weights } from "../nn/weights.js";
import { gaussian, permutation, rng } from "../util/random.js";
import type { TrainHead } from "./losses.js";

/** The permutation of 0..n−1 for an epoch: Fisher–Yates from mulberry32(seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  return permutation(n, rng(mix(seed, epoch, 0x5eed)));
}

export function mix(seed: number, a: number, b: number): number {
  let h = (seed ^ Math.imul(a + 1, 0x9e3779b1) ^ Math.imul(b + 7, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

/** Initial head parameters (same initialisers as the model's), seeded apart from the model. */
export function initHeadWeights(head: TrainHead | undefined, seed: number): Weights {
  const out: Weights = {};
  if (!head) return out;
  const random = rng(mix(seed, 0, 0x4ead));
  const normal = gaussian(random);
  for (const p of head.params) out[p.name] = { shape: p.shape, data: initParam(p, normal, random) };
  return out;
}
