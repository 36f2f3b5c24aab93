// Where randomness enters training: the per-epoch data order and the per-step augmentation seed,
// both derived from (seed, epoch, step) so that a resumed run replays the same batches.
import { gaussian, rng, type Weights } from "../nn/weights.js";
import type { TrainHead } from "./losses.js";

/** The permutation of 0..n−1 for an epoch: Fisher–Yates from mulberry32(seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const random = rng(mix(seed, epoch, 0x5eed));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
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
  for (const p of head.params) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (p.init === "ones") data.fill(1);
    else if (p.init === "glorotUniform") {
      const limit = Math.sqrt(6 / (p.fanIn + (p.shape.at(-1) ?? 1)));
      for (let i = 0; i < size; i++) data[i] = (random() * 2 - 1) * limit;
    } else if (p.init !== "zeros") {
      const std = Math.sqrt((p.init === "heNormal" ? 2 : 1) / p.fanIn);
      for (let i = 0; i < size; i++) data[i] = normal() * std;
    }
    out[p.name] = { shape: p.shape, data };
  }
  return out;
}
