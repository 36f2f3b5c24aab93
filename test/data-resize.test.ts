import assert from "node:assert/strict";
import { test } from "node:test";
import { resizeDataset, resizeImages } from "../src/data/resize.js";

function close(actual: Float32Array, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
  }
}

const ramp4 = Float32Array.from({ length: 16 }, (_, i) => i); // 4×4, value = 4y + x

test("area 4×4 → 2×2 averages each 2×2 block", () => {
  close(resizeImages(ramp4, 1, 4, 4, 1, 2, 2, "area"), [2.5, 4.5, 10.5, 12.5]);
});

test("bilinear 4×4 → 2×2 reads the centre pixels like PyTorch (align_corners=False)", () => {
  // src = (o + 0.5) * 2 - 0.5 = 0.5, 2.5: the mean of pixels 0,1 and 2,3 along each axis.
  close(resizeImages(ramp4, 1, 4, 4, 1, 2, 2, "bilinear"), [2.5, 4.5, 10.5, 12.5]);
});

test("28 → 7: area averages 4×4 blocks, bilinear reads only pixels 1 and 2 of each block", () => {
  const img = new Float32Array(28 * 28);
  // One bright pixel at (0, 0), the corner of block (0, 0): area sees it, bilinear does not.
  img[0] = 1;
  // A 2×2 patch at rows/cols 5..6 (the centre of block (1, 1)): both see it.
  for (const y of [5, 6]) for (const x of [5, 6]) img[y * 28 + x] = 1;
  const area = resizeImages(img, 1, 28, 28, 1, 7, 7, "area");
  const bil = resizeImages(img, 1, 28, 28, 1, 7, 7, "bilinear");
  assert.equal(area[0], 1 / 16);
  assert.equal(bil[0], 0);
  assert.equal(area[8], 4 / 16);
  assert.equal(bil[8], 1);
  const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(sum(area) * 16 - sum(img)) < 1e-5, "area keeps the mass");
});

test("non-integer factors: area weights by overlap; bilinear clamps at the edge", () => {
  // 3 → 2: output 0 covers [0, 1.5): (1·a + 0.5·b) / 1.5
  const row = Float32Array.from([3, 6, 9]);
  close(resizeImages(row, 1, 1, 3, 1, 1, 2, "area"), [(3 + 0.5 * 6) / 1.5, (0.5 * 6 + 9) / 1.5]);
  // src = (o + 0.5) * 1.5 - 0.5 = 0.25, 1.75
  close(resizeImages(row, 1, 1, 3, 1, 1, 2, "bilinear"), [3 + 0.25 * 3, 6 + 0.75 * 3]);
  // upsampling 2 → 4: src = -0.25 → 0 (clamped), 0.25, 0.75, 1.25 → index 1 only
  close(resizeImages(Float32Array.from([0, 4]), 1, 1, 2, 1, 1, 4, "bilinear"), [0, 1, 3, 4]);
});

test("channels and images stay separate (NHWC)", () => {
  const two = new Float32Array(2 * 2 * 2 * 3);
  for (let i = 0; i < two.length; i++) two[i] = (i % 3) + 10 * Math.floor(i / 12);
  close(resizeImages(two, 2, 2, 2, 3, 1, 1, "area"), [0, 1, 2, 10, 11, 12]);
});

test("resizeDataset keeps the labels and sets the new size; bad sizes throw", () => {
  const d = {
    name: "x",
    images: ramp4,
    labels: Uint8Array.from([3]),
    count: 1,
    height: 4,
    width: 4,
    channels: 1,
    classes: ["a", "b", "c", "d"],
  };
  const r = resizeDataset(d, 1, 1);
  assert.deepEqual([r.height, r.width, r.labels[0], r.images[0]], [1, 1, 3, 7.5]);
  assert.throws(() => resizeImages(ramp4, 1, 4, 4, 1, 0, 2), RangeError);
  assert.throws(() => resizeImages(ramp4, 2, 4, 4, 1, 2, 2), RangeError);
});
