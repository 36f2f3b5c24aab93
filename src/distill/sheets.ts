// PNG contact sheets of distilled images: one per level and a Fig. 9-style summary (the grid and
// its PNG encoding are data/image-grid.ts).
import { gridPng, type SheetShape } from "../data/image-grid.js";

export { gridPng, type SheetShape };

import type { LevelImages } from "./similarity.js";

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
