// Images laid out on a grey grid and encoded as one PNG: the contact sheets of distillation and the reference
// sheets the service serves (kept here, below both, so that serving does not reach src/distill).
import { encodePng } from "./image-encode.js";

export interface SheetShape {
  height: number;
  width: number;
  channels: number;
}

const GAP = 2;
const BACKGROUND = 96;

/** Lays out tiles[row][col] (each H·W·C floats in [0, 1]) on a grey grid and encodes a PNG. */
export async function gridPng(
  tiles: (Float32Array | undefined)[][],
  shape: SheetShape,
  scale = 2,
): Promise<Buffer> {
  const { height: h, width: w, channels: c } = shape;
  const rows = tiles.length;
  const cols = Math.max(1, ...tiles.map((r) => r.length));
  const W = cols * (w + GAP) + GAP;
  const H = rows * (h + GAP) + GAP;
  const out = Buffer.alloc(W * H * c, BACKGROUND);
  tiles.forEach((row, r) => {
    row.forEach((tile, col) => {
      if (!tile) return;
      const x0 = GAP + col * (w + GAP);
      const y0 = GAP + r * (h + GAP);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) {
            const v = tile[(y * w + x) * c + k];
            out[((y0 + y) * W + x0 + x) * c + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
        }
      }
    });
  });
  return encodePng(out, W, H, c as 1 | 3, scale);
}
