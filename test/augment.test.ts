import assert from "node:assert/strict";
import { test } from "node:test";
import { affineJitter } from "../src/data/augment.js";
import { rng } from "../src/util/random.js";

const shape: [number, number, number] = [7, 7, 2];

function randomImages(count: number, seed: number): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: count * 7 * 7 * 2 }, () => random());
}

test("zero jitter leaves every image unchanged", () => {
  const images = randomImages(3, 1);
  const before = images.slice();
  affineJitter({ shift: 0, rotate: 0, scale: 0 })(images, 3, shape, rng(2));
  for (let i = 0; i < images.length; i++) assert.ok(Math.abs(images[i] - before[i]) < 1e-6);
});

test("a full-size shift moves every pixel by exactly one, filling zeros", () => {
  const images = randomImages(1, 3);
  const before = images.slice();
  affineJitter({ shift: 1 / 7, rotate: 0, scale: 0 })(images, 1, shape, () => 1);
  for (let y = 0; y < 7; y++) {
    for (let x = 0; x < 7; x++) {
      for (let c = 0; c < 2; c++) {
        const got = images[(y * 7 + x) * 2 + c];
        const want = y === 0 || x === 0 ? 0 : before[((y - 1) * 7 + (x - 1)) * 2 + c];
        assert.ok(Math.abs(got - want) < 1e-6, `(${y}, ${x}, ${c}): ${got} vs ${want}`);
      }
    }
  }
});

test("jitter is deterministic for a seed, differs across seeds, keeps pixels in range", () => {
  const jitter = affineJitter();
  const a = randomImages(4, 5);
  const b = a.slice();
  const c = a.slice();
  jitter(a, 4, shape, rng(9));
  jitter(b, 4, shape, rng(9));
  jitter(c, 4, shape, rng(10));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const v of a) assert.ok(v >= 0 && v <= 1 + 1e-6);
});
