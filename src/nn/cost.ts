// What one forward pass of a spec costs, in multiply-accumulates per image: the common unit in
// which the pipeline weighs training, distillation and evaluation against each other.
import { cgTerms, type LayerSpec, layerOutputShape, type ModelSpec, type Shape } from "./spec.js";

const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

/** Multiply-accumulates of one layer list on one image (elementwise layers count one per output). */
export function layersMacs(layers: LayerSpec[], input: Shape): number {
  let shape = input;
  let macs = 0;
  for (const layer of layers) {
    const out = layerOutputShape(layer, shape);
    switch (layer.kind) {
      case "conv2d":
        macs += size(out) * layer.kernel * layer.kernel * shape[2];
        break;
      case "cg":
        macs += size(out) * cgTerms(layer) * (layer.shared ? 1 : shape[2]);
        break;
      case "dense":
        macs += size(shape) * layer.units;
        break;
      case "avgPool":
        macs += size(out) * layer.size * layer.size;
        break;
      case "residual":
        macs += layersMacs(layer.body, shape) + layersMacs(layer.shortcut, shape) + size(out);
        break;
      default:
        macs += size(out);
    }
    shape = out;
  }
  return macs;
}

/** Multiply-accumulates of one forward pass of `spec` on one image. */
export function forwardMacs(spec: ModelSpec): number {
  return layersMacs(spec.layers, spec.input);
}
