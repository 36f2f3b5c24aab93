// The paper's TaylorNets as declarative specs (Fig. 5 for 28×28 MNIST, a 7×7 MNIST net and a
// CIFAR-10 net in the same style): convolutions and CG operations only, no activation anywhere,
// plus the ablation that turns every CG into a convolution of the same geometry.
import {
  CIFAR10_NORMALIZATION,
  MNIST_NORMALIZATION,
  type Normalization,
} from "../data/normalize.js";
import type { CgLayer, Conv2dLayer, LayerSpec, ModelSpec } from "./spec.js";

export const TAYLORNET_ARCHS = ["mnist28", "mnist7", "cifar10"] as const;
export type TaylorNetArch = (typeof TAYLORNET_ARCHS)[number];

export interface TaylorNetOptions {
  /** Channels of the convolutions and CG layers (the paper: 64). */
  width?: number;
  /** Expansion order of every CG layer (the paper: 2). */
  order?: number;
  /** Replace every CG by a conv2d with the same kernel, stride, dilation, padding, filters. */
  ablate?: boolean;
  /**
   * Batch norm after every CG layer (default true). It is affine at inference, so it folds
   * into the polynomial; without it the degree-16 stack's scale drifts and training diverges.
   */
  batchNorm?: boolean;
}

function isArch(name: string): name is TaylorNetArch {
  return (TAYLORNET_ARCHS as readonly string[]).includes(name);
}

const conv = (filters: number): Conv2dLayer => ({ kind: "conv2d", filters, kernel: 3, padding: 1 });

function cg(filters: number, order: number, stride: number, dilation: number): CgLayer {
  return { kind: "cg", filters, kernel: 2, order, stride, dilation };
}

function head(norm: Normalization, body: LayerSpec[], classes = 10): LayerSpec[] {
  return [
    { kind: "normalize", mean: norm.mean, std: norm.std },
    ...body,
    { kind: "flatten" },
    { kind: "dense", units: classes },
  ];
}

/**
 * The layer list of an arch before batch norm is inserted. Sizes: mnist28 is Fig. 5 in the
 * order Conv, Conv, CG(2,2,c,2,2) 28→14, diCG1 CG(2,2,c,1,1,7) 14→7, Conv, Conv,
 * diCG2 CG(2,2,c,1,1,3) 7→4, CG(2,2,c,2,2) 4→2, Linear(2·2·c→10); every Conv is
 * Conv(3,3,c,1,1,1) (padding 1 keeps the size), every CG has no padding.
 */
function body(arch: TaylorNetArch, c: number, n: number): LayerSpec[] {
  switch (arch) {
    case "mnist28":
      return [
        conv(c),
        conv(c),
        cg(c, n, 2, 1),
        cg(c, n, 1, 7),
        conv(c),
        conv(c),
        cg(c, n, 1, 3),
        cg(c, n, 2, 1),
      ];
    case "mnist7":
      // 7×7: Conv, diCG CG(2,2,c,1,1,3) 7→4, Conv, Conv, CG(2,2,c,2,2) 4→2, Linear. One conv
      // before the first CG instead of Fig. 5's two: half the compute, 192k parameters.
      return [conv(c), cg(c, n, 1, 3), conv(c), conv(c), cg(c, n, 2, 1)];
    case "cifar10":
      // 32×32×3: Conv, Conv, CG 32→16, Conv(2c), Conv(2c), CG 16→8, diCG(d4) 8→4, Conv, CG 4→2.
      return [
        conv(c),
        conv(c),
        cg(c, n, 2, 1),
        conv(2 * c),
        conv(2 * c),
        cg(2 * c, n, 2, 1),
        cg(2 * c, n, 1, 4),
        conv(2 * c),
        cg(2 * c, n, 2, 1),
      ];
  }
}

/** Every CG layer replaced by a conv2d of the same kernel, stride, dilation, padding, filters. */
export function ablateCg(spec: ModelSpec): ModelSpec {
  const swap = (layer: LayerSpec): LayerSpec => {
    if (layer.kind === "cg") {
      return {
        kind: "conv2d",
        filters: layer.filters,
        kernel: layer.kernel,
        stride: layer.stride ?? 1,
        dilation: layer.dilation ?? 1,
        padding: layer.padding ?? "valid",
        bias: layer.bias ?? true,
      };
    }
    if (layer.kind === "residual") {
      return { ...layer, body: layer.body.map(swap), shortcut: layer.shortcut.map(swap) };
    }
    return layer;
  };
  return { ...spec, name: `${spec.name}-ablated`, layers: spec.layers.map(swap) };
}

/** A TaylorNet spec by arch name: taylorNetSpec("mnist7", { width: 8 }) for tests. */
export function taylorNetSpec(arch: string, options: TaylorNetOptions = {}): ModelSpec {
  if (!isArch(arch)) {
    throw new Error(
      `unknown TaylorNet arch "${arch}"; choose one of ${TAYLORNET_ARCHS.join(", ")}`,
    );
  }
  const width = options.width ?? 64;
  const order = options.order ?? 2;
  if (!Number.isInteger(width) || width < 1)
    throw new Error(`width must be a positive integer, got ${width}`);
  if (!Number.isInteger(order) || order < 1 || order > 4) {
    throw new Error(`order must be 1..4, got ${order}`);
  }
  const layers: LayerSpec[] = [];
  for (const layer of body(arch, width, order)) {
    layers.push(layer);
    if (layer.kind === "cg" && (options.batchNorm ?? true)) layers.push({ kind: "batchNorm" });
  }
  const norm = arch === "cifar10" ? CIFAR10_NORMALIZATION : MNIST_NORMALIZATION;
  const input: [number, number, number] =
    arch === "mnist28" ? [28, 28, 1] : arch === "mnist7" ? [7, 7, 1] : [32, 32, 3];
  const spec: ModelSpec = {
    name: `taylornet-${arch}`,
    input,
    layers: head(norm, layers),
    output: "logits",
  };
  return options.ablate ? ablateCg(spec) : spec;
}
