import assert from "node:assert/strict";
import { test } from "node:test";
import sharp from "sharp";
import { levelSheet, summarySheet } from "../src/distill/sheets.js";
import { levelSimilarity, similarityMarkdown } from "../src/distill/similarity.js";

const shape = { height: 2, width: 2, channels: 1 };
// class 0: [1,0,0,0] twice; class 1: [0,1,0,0] and [0,1,1,0] (cosine 1/√2)
const level = {
  level: 2,
  count: 4,
  images: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0]),
  labels: Uint8Array.from([0, 1, 0, 1]),
};

test("intra- and inter-class cosines match a hand computation", () => {
  const row = levelSimilarity(level, 2);
  assert.equal(row.perClass, 2);
  assert.ok(Math.abs((row.intraClass ?? 0) - (1 + Math.SQRT1_2) / 2) < 1e-6);
  assert.equal(row.interClass, 0);
  const embedded = levelSimilarity(level, 2, 200, (images, n) =>
    Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? 1 : images[(k >> 1) * 4])),
  );
  assert.ok(Math.abs((embedded.intraClass ?? 0) - 1) < 1e-6);
  assert.ok(Math.abs((embedded.interClass ?? 0) - Math.SQRT1_2) < 1e-6);
  const single = levelSimilarity(
    { ...level, count: 2, labels: Uint8Array.from([0, 1]), images: level.images.slice(0, 8) },
    2,
  );
  assert.equal(single.intraClass, null);
  assert.match(
    similarityMarkdown([row, single]),
    /\| L2 \| 2 \| 0\.8536 \| 0\.0000 \|\n\| L2 \| 1 \| — \| 0\.0000 \|/,
  );
});

test("sheets are PNGs with one tile per image, classes as rows", async () => {
  const png = await levelSheet(level, 2, shape, 20);
  assert.equal((await sharp(png).metadata()).channels, 1);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  // 2 columns × (2 px + 2 gap) + 2 gap = 10, ×2 scale
  assert.deepEqual([info.width, info.height], [20, 20]);
  const at = (x: number, y: number) => data[(y * 2 * info.width + x * 2) * info.channels];
  assert.equal(at(2, 2), 255); // class 0, first image, top-left pixel
  assert.equal(at(3, 2), 0);
  assert.equal(at(3, 6), 255); // class 1, first image, top-right pixel
  assert.equal(at(0, 0), 96); // gap
  const summary = await summarySheet(level, [level, level], 2, shape);
  const meta = await sharp(summary).metadata();
  assert.deepEqual([meta.width, meta.height], [(3 * 4 + 2) * 3, (2 * 4 + 2) * 3]);
});
