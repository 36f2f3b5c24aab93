// ResNet18/50 embedders as ModelSpecs: a small-image stem (3×3, stride 1, no max-pool), residual
// stages, and global average pooling; the pooled vector is the embedding.
import type { LayerSpec, ModelSpec } from "./spec.js";

export type ResnetDepth = 18 | 50;

export interface ResnetOptions {
  depth: ResnetDepth;
  /** Channels of the stem and first stage (64 is the standard ResNet). */
  width: number;
  input: [number, number, number];
  /** Per-channel normalisation of the raw [0, 1] pixels. */
  mean: number[];
  std: number[];
  name?: string;
}

const BLOCKS: Record<ResnetDepth, { blocks: number[]; bottleneck: boolean }> = {
  18: { blocks: [2, 2, 2, 2], bottleneck: false },
  50: { blocks: [3, 4, 6, 3], bottleneck: true },
};
const BOTTLENECK_EXPANSION = 4;

function conv(filters: number, kernel: number, stride = 1): LayerSpec {
  return {
    kind: "conv2d",
    filters,
    kernel,
    stride,
    padding: kernel === 1 ? "valid" : (kernel - 1) / 2,
    bias: false,
  };
}

const bn: LayerSpec = { kind: "batchNorm" };
const relu: LayerSpec = { kind: "relu" };

function shortcut(inChannels: number, outChannels: number, stride: number): LayerSpec[] {
  return stride === 1 && inChannels === outChannels ? [] : [conv(outChannels, 1, stride), bn];
}

function basicBlock(inChannels: number, planes: number, stride: number): LayerSpec {
  return {
    kind: "residual",
    body: [conv(planes, 3, stride), bn, relu, conv(planes, 3), bn],
    shortcut: shortcut(inChannels, planes, stride),
  };
}

function bottleneckBlock(inChannels: number, planes: number, stride: number): LayerSpec {
  const out = planes * BOTTLENECK_EXPANSION;
  return {
    kind: "residual",
    body: [conv(planes, 1), bn, relu, conv(planes, 3, stride), bn, relu, conv(out, 1), bn],
    shortcut: shortcut(inChannels, out, stride),
  };
}

/** Channels of the embedding a ResNet of this depth and width produces. */
export function resnetEmbeddingSize(depth: ResnetDepth, width: number): number {
  return width * 8 * (BLOCKS[depth].bottleneck ? BOTTLENECK_EXPANSION : 1);
}

export function resnetSpec(options: ResnetOptions): ModelSpec {
  const { depth, width, input, mean, std } = options;
  const plan = BLOCKS[depth];
  if (!plan) throw new Error(`resnet depth must be 18 or 50, got ${depth}`);
  if (!Number.isInteger(width) || width < 1) {
    throw new Error(`resnet width must be a positive integer, got ${width}`);
  }
  const layers: LayerSpec[] = [{ kind: "normalize", mean, std }, conv(width, 3), bn, relu];
  let channels = width;
  plan.blocks.forEach((count, stage) => {
    const planes = width * 2 ** stage;
    for (let b = 0; b < count; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const block = plan.bottleneck
        ? bottleneckBlock(channels, planes, stride)
        : basicBlock(channels, planes, stride);
      layers.push(block, relu);
      channels = plan.bottleneck ? planes * BOTTLENECK_EXPANSION : planes;
    }
  });
  layers.push({ kind: "globalAvgPool" });
  return {
    name: options.name ?? `resnet${depth}-w${width}`,
    input,
    layers,
    output: "embedding",
  };
}
