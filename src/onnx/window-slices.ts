// The k·k strided, dilated window views of a padded 4-D value as ONNX Slice ops, shared by the
// inference exporter (NCHW) and the training graphs (NHWC).
import type { WindowGeometry } from "../nn/spec.js";
import type { GraphBuilder } from "./graph-builder.js";

/** One view [N, oh, ow] (per layout) per kernel offset, row-major; `prefix` names the nodes. */
export function windowSlices(
  g: GraphBuilder,
  x: string,
  { k, s, d, pads, oh, ow }: WindowGeometry,
  layout: "NCHW" | "NHWC",
  prefix: string,
): string[] {
  const axes = layout === "NCHW" ? [2, 3] : [1, 2];
  let padded = x;
  if (pads.some((p) => p > 0)) {
    const [t, l, b, r] = pads;
    const spec = layout === "NCHW" ? [0, 0, t, l, 0, 0, b, r] : [0, t, l, 0, 0, b, r, 0];
    padded = g.op("Pad", [x, g.int64("pads", spec)], {}, `${prefix}pad`);
  }
  const views: string[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const y0 = ky * d;
      const x0 = kx * d;
      const inputs = [
        padded,
        g.int64("starts", [y0, x0]),
        g.int64("ends", [y0 + (oh - 1) * s + 1, x0 + (ow - 1) * s + 1]),
        g.int64("axes", axes),
        g.int64("steps", [s, s]),
      ];
      views.push(g.op("Slice", inputs, {}, `${prefix}view`));
    }
  }
  return views;
}
