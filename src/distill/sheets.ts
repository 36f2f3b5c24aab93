// PNG contact sheets of distilled images: one per level and a Fig. 9-style summary (the PNG
// encoding itself is data/image-encode.ts).
import { encodePng } from "../data/image-encode.js";
import type { LevelImages } from "./similarity.js";

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

function tile(level: LevelImages, index: number, size: number): Float32Array {
  return level.images.subarray(index * size, (index + 1) * size);
}

/** Rows = classes, columns = the first `perRow` images of that class in the level. */
export function levelSheet(
  level: LevelImages,
  classes: number,
  shape: SheetShape,
  perRow = 20,
): Promise<Buffer> {
  const size = shape.height * shape.width * shape.channels;
  const rows: Float32Array[][] = Array.from({ length: classes }, () => []);
  level.labels.forEach((label, i) => {
    if (rows[label].length < perRow) rows[label].push(tile(level, i, size));
  });
  return gridPng(rows, shape);
}

/** Fig. 9: rows = classes, columns = one original (L0) image, then the first image of L1..LK. */
export function summarySheet(
  original: LevelImages,
  levels: LevelImages[],
  classes: number,
  shape: SheetShape,
): Promise<Buffer> {
  const size = shape.height * shape.width * shape.channels;
  const first = (l: LevelImages, c: number) => {
    const i = l.labels.indexOf(c);
    return i < 0 ? undefined : tile(l, i, size);
  };
  const rows = Array.from({ length: classes }, (_, c) =>
    [original, ...levels].map((l) => first(l, c)),
  );
  return gridPng(rows, shape, 3);
}
