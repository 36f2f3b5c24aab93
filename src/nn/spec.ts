// Declarative model specs: the one description of an architecture that both the tfjs builder
// (training) and the ONNX exporter (serving) read, with shape inference and the parameter list.
import { countMonomials } from "./monomials.js";

/** Symmetric zero padding: 'same' (stride-1 style, out = ceil(in / stride)), 'valid', or pixels per side. */
export type Padding = "same" | "valid" | number;

export interface Conv2dLayer {
  kind: "conv2d";
  filters: number;
  kernel: number;
  stride?: number;
  dilation?: number;
  padding?: Padding;
  bias?: boolean;
}

/**
 * The coarse-graining operation of Eq. 4: for every input channel, every monomial of degree
 * 1..order of the k×k cluster (variables `dilation` apart, row-major), weighted per
 * (term, input channel, output channel), plus a bias. `shared` uses one coefficient set for
 * all input channels (kernel [T, 1, filters] applied to the channel sum of each term).
 */
export interface CgLayer {
  kind: "cg";
  filters: number;
  kernel: number;
  order: number;
  stride?: number;
  dilation?: number;
  padding?: Padding;
  shared?: boolean;
  bias?: boolean;
}

export interface BatchNormLayer {
  kind: "batchNorm";
  epsilon?: number;
  momentum?: number;
}

export interface InstanceNormLayer {
  kind: "instanceNorm";
  epsilon?: number;
  affine?: boolean;
}

export interface ReluLayer {
  kind: "relu";
}

export interface AvgPoolLayer {
  kind: "avgPool";
  size: number;
  stride?: number;
}

export interface GlobalAvgPoolLayer {
  kind: "globalAvgPool";
}

export interface FlattenLayer {
  kind: "flatten";
}

export interface DenseLayer {
  kind: "dense";
  units: number;
  bias?: boolean;
}

/** Eq. 3: flattens the input and emits every monomial of degree 1..order of its features. */
export interface MonomialsLayer {
  kind: "monomials";
  order: number;
}

/** out = body(x) + shortcut(x); an empty shortcut is the identity. */
export interface ResidualLayer {
  kind: "residual";
  body: LayerSpec[];
  shortcut: LayerSpec[];
}

/** (x − mean[c]) / std[c] per channel: models take raw [0, 1] pixels and normalise inside. */
export interface NormalizeLayer {
  kind: "normalize";
  mean: number[];
  std: number[];
}

/** Divides each row by its Euclidean norm (the embedder's cosine-ready output). */
export interface L2NormalizeLayer {
  kind: "l2normalize";
}

export type LayerSpec =
  | Conv2dLayer
  | CgLayer
  | BatchNormLayer
  | InstanceNormLayer
  | ReluLayer
  | AvgPoolLayer
  | GlobalAvgPoolLayer
  | FlattenLayer
  | DenseLayer
  | MonomialsLayer
  | ResidualLayer
  | L2NormalizeLayer
  | NormalizeLayer;

/** Activations are NHWC; a shape here omits the batch dimension. */
export type Shape = number[];

export interface ModelSpec {
  name: string;
  /** [height, width, channels] */
  input: [number, number, number];
  layers: LayerSpec[];
  /** What the last layer produces: class logits or an embedding. */
  output: "logits" | "embedding";
}

export interface ParamInfo {
  name: string;
  shape: number[];
  trainable: boolean;
  init: "heNormal" | "glorotUniform" | "zeros" | "ones" | "cgNormal";
  /** Fan-in used by initialisers. */
  fanIn: number;
}

export class SpecError extends Error {
  override name = "SpecError";
}

export function padAmounts(
  padding: Padding,
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
): [number, number] {
  if (typeof padding === "number") return [padding, padding];
  if (padding === "valid") return [0, 0];
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + effective - inSize);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Where a windowed layer's (conv, CG) clusters sit on its input. */
export interface WindowGeometry {
  k: number;
  s: number;
  d: number;
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  /** Output height and width. */
  oh: number;
  ow: number;
}

/** A windowed layer's kernel, stride, dilation, padding and output size on h×w. */
export function windowGeometry(
  layer: { kernel: number; stride?: number; dilation?: number; padding?: Padding },
  h: number,
  w: number,
): WindowGeometry {
  const k = layer.kernel;
  const s = layer.stride ?? 1;
  const d = layer.dilation ?? 1;
  const padding = layer.padding ?? "valid";
  const [top, bottom] = padAmounts(padding, h, k, s, d);
  const [left, right] = padAmounts(padding, w, k, s, d);
  const oh = windowOutSize(h, k, s, d, padding);
  const ow = windowOutSize(w, k, s, d, padding);
  return { k, s, d, pads: [top, left, bottom, right], oh, ow };
}

/**
 * [H, W] of the frame that holds every view's last row and column, rounded up to a multiple of
 * the stride (so each strided view is a reshape of it).
 */
export function strideFrame({ k, s, d, oh, ow }: WindowGeometry): [number, number] {
  return [
    Math.ceil(((k - 1) * d + (oh - 1) * s + 1) / s) * s,
    Math.ceil(((k - 1) * d + (ow - 1) * s + 1) / s) * s,
  ];
}

export function windowOutSize(
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
): number {
  const [a, b] = padAmounts(padding, inSize, kernel, stride, dilation);
  const effective = (kernel - 1) * dilation + 1;
  return Math.floor((inSize + a + b - effective) / stride) + 1;
}

function windowed(
  layer: Conv2dLayer | CgLayer,
  [h, w]: Shape,
  path: string,
): [number, number, number] {
  const stride = layer.stride ?? 1;
  const dilation = layer.dilation ?? 1;
  const padding = layer.padding ?? "valid";
  const oh = windowOutSize(h, layer.kernel, stride, dilation, padding);
  const ow = windowOutSize(w, layer.kernel, stride, dilation, padding);
  if (oh < 1 || ow < 1) {
    throw new SpecError(
      `${path}: ${layer.kind} with kernel ${layer.kernel} does not fit ${h}×${w}`,
    );
  }
  return [oh, ow, layer.filters];
}

/** Number of monomials of degree 1..order in `vars` variables. */
export function cgTerms(layer: Pick<CgLayer, "kernel" | "order">): number {
  return countMonomials(layer.kernel * layer.kernel, layer.order);
}

/** The output shape of one layer for an input shape, checked. */
export function layerOutputShape(layer: LayerSpec, shape: Shape, path = "layer"): Shape {
  switch (layer.kind) {
    case "conv2d":
    case "cg":
      if (shape.length !== 3) throw new SpecError(`${path}: ${layer.kind} needs an HWC input`);
      return windowed(layer, shape, path);
    case "avgPool": {
      if (shape.length !== 3) throw new SpecError(`${path}: avgPool needs an HWC input`);
      const stride = layer.stride ?? layer.size;
      return [
        windowOutSize(shape[0], layer.size, stride, 1, "valid"),
        windowOutSize(shape[1], layer.size, stride, 1, "valid"),
        shape[2],
      ];
    }
    case "globalAvgPool":
      if (shape.length !== 3) throw new SpecError(`${path}: globalAvgPool needs an HWC input`);
      return [shape[2]];
    case "flatten":
      return [shape.reduce((a, b) => a * b, 1)];
    case "dense":
      if (shape.length !== 1)
        throw new SpecError(`${path}: dense needs a flat input (add flatten)`);
      return [layer.units];
    case "monomials":
      return [
        countMonomials(
          shape.reduce((a, b) => a * b, 1),
          layer.order,
        ),
      ];
    case "residual": {
      const body = inferShapes(layer.body, shape, `${path}.body`).at(-1) ?? shape;
      const shortcut = inferShapes(layer.shortcut, shape, `${path}.shortcut`).at(-1) ?? shape;
      if (body.join() !== shortcut.join()) {
        throw new SpecError(`${path}: body gives [${body}] but shortcut gives [${shortcut}]`);
      }
      return body;
    }
    case "normalize":
      if (layer.mean.length !== layer.std.length || layer.mean.length !== shape.at(-1)) {
        throw new SpecError(
          `${path}: normalize needs one mean and std per channel (${shape.at(-1)})`,
        );
      }
      return shape;
    case "batchNorm":
    case "instanceNorm":
    case "relu":
    case "l2normalize":
      return shape;
  }
}

/** Output shape after each layer of a list (index i: after layers[i]). */
export function inferShapes(layers: LayerSpec[], input: Shape, prefix = ""): Shape[] {
  const shapes: Shape[] = [];
  let shape = input;
  layers.forEach((layer, i) => {
    shape = layerOutputShape(layer, shape, prefix ? `${prefix}.${i}` : `${i}`);
    shapes.push(shape);
  });
  return shapes;
}

export function outputShape(spec: ModelSpec): Shape {
  return inferShapes(spec.layers, spec.input).at(-1) ?? spec.input;
}

/**
 * Every parameter of a layer list, named by path: `${index}.${param}`, nested as
 * `${index}.body.${j}.${param}` / `${index}.shortcut.${j}.${param}`. Layouts:
 * conv2d kernel [k, k, cin, filters] (HWIO); cg kernel [T, cin or 1, filters];
 * dense kernel [in, units]; batchNorm gamma/beta/movingMean/movingVariance [C];
 * instanceNorm gamma/beta [C]; biases [filters | units].
 */
export function layerParams(layers: LayerSpec[], input: Shape, prefix = ""): ParamInfo[] {
  const params: ParamInfo[] = [];
  let shape = input;
  layers.forEach((layer, i) => {
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    const channels = shape.at(-1) ?? 1;
    const add = (
      name: string,
      s: number[],
      init: ParamInfo["init"],
      fanIn: number,
      trainable = true,
    ) => params.push({ name: `${path}.${name}`, shape: s, trainable, init, fanIn });
    switch (layer.kind) {
      case "conv2d": {
        const fanIn = layer.kernel * layer.kernel * channels;
        add("kernel", [layer.kernel, layer.kernel, channels, layer.filters], "heNormal", fanIn);
        if (layer.bias ?? true) add("bias", [layer.filters], "zeros", fanIn);
        break;
      }
      case "cg": {
        const terms = cgTerms(layer);
        const cin = layer.shared ? 1 : channels;
        add("kernel", [terms, cin, layer.filters], "cgNormal", terms * channels);
        if (layer.bias ?? true) add("bias", [layer.filters], "zeros", terms * channels);
        break;
      }
      case "dense": {
        const fanIn = shape.reduce((a, b) => a * b, 1);
        add("kernel", [fanIn, layer.units], "glorotUniform", fanIn);
        if (layer.bias ?? true) add("bias", [layer.units], "zeros", fanIn);
        break;
      }
      case "batchNorm":
        add("gamma", [channels], "ones", channels);
        add("beta", [channels], "zeros", channels);
        add("movingMean", [channels], "zeros", channels, false);
        add("movingVariance", [channels], "ones", channels, false);
        break;
      case "instanceNorm":
        if (layer.affine ?? false) {
          add("gamma", [channels], "ones", channels);
          add("beta", [channels], "zeros", channels);
        }
        break;
      case "residual":
        params.push(...layerParams(layer.body, shape, `${path}.body`));
        params.push(...layerParams(layer.shortcut, shape, `${path}.shortcut`));
        break;
      default:
        break;
    }
    shape = layerOutputShape(layer, shape, path);
  });
  return params;
}

export function modelParams(spec: ModelSpec): ParamInfo[] {
  return layerParams(spec.layers, spec.input);
}

export function countParams(spec: ModelSpec, trainableOnly = true): number {
  return modelParams(spec)
    .filter((p) => p.trainable || !trainableOnly)
    .reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}
