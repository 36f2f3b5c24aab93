// Batch-norm moving statistics: where each batch-norm layer sits (and over how many values per
// channel its batch statistics run), and the momentum update after each step.
import { type BatchNormLayer, type LayerSpec, layerOutputShape, type Shape } from "../nn/spec.js";
import type { Weights } from "../nn/weights.js";
import type { BatchStats } from "./step.js";

export interface BatchNormSite {
  layer: BatchNormLayer;
  /** Values per channel and image that its batch statistics average over (H·W, or 1). */
  spatial: number;
}

export function batchNormSites(
  layers: LayerSpec[],
  input: Shape,
  prefix = "",
  out = new Map<string, BatchNormSite>(),
): Map<string, BatchNormSite> {
  let shape = input;
  layers.forEach((layer, i) => {
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    if (layer.kind === "batchNorm") {
      out.set(path, { layer, spatial: shape.slice(0, -1).reduce((a, b) => a * b, 1) });
    }
    if (layer.kind === "residual") {
      batchNormSites(layer.body, shape, `${path}.body`, out);
      batchNormSites(layer.shortcut, shape, `${path}.shortcut`, out);
    }
    shape = layerOutputShape(layer, shape, path);
  });
  return out;
}

/** moving = m·moving + (1 − m)·batch, with the unbiased batch variance (as PyTorch). */
export function updateMovingStats(
  weights: Weights,
  sites: Map<string, BatchNormSite>,
  stats: Record<string, BatchStats>,
  images: number,
): void {
  for (const [path, s] of Object.entries(stats)) {
    const site = sites.get(path);
    if (!site) continue;
    const m = site.layer.momentum ?? 0.9;
    const mean = weights[`${path}.movingMean`].data;
    const variance = weights[`${path}.movingVariance`].data;
    const n = images * site.spatial;
    const unbias = n > 1 ? n / (n - 1) : 1;
    for (let i = 0; i < mean.length; i++) {
      mean[i] = m * mean[i] + (1 - m) * s.mean[i];
      variance[i] = m * variance[i] + (1 - m) * s.variance[i] * unbias;
    }
  }
}
