import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { Dataset } from "../src/data/dataset.js";
import { toMnistInput } from "../src/data/digit-framing.js";
import { loadDataset } from "../src/data/load.js";
import { rng } from "../src/util/random.js";

let mnist: Dataset;
before(async () => {
  mnist = await loadDataset("mnist", "test");
});

function digit(i: number): Float32Array {
  return mnist.images.slice(i * 784, (i + 1) * 784);
}

export function correlation(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

test("framing an MNIST digit changes little", () => {
  let worst = 1;
  for (let i = 0; i < 50; i++) {
    const out = toMnistInput(digit(i), 28, 28);
    assert.equal(out.inverted, false);
    assert.equal(out.framed, true);
    worst = Math.min(worst, correlation(out.pixels, digit(i)));
  }
  assert.ok(worst > 0.99, `worst correlation ${worst}`);
});

/** The digit as dark ink on noisy light paper, scaled ×3, off-centre in a 150×120 page. */
function onPaper(src: Float32Array, noise = 0): Float32Array {
  const w = 150;
  const h = 120;
  const random = rng(7);
  const page = Float32Array.from({ length: w * h }, () => 0.9 - noise * random());
  for (let y = 0; y < 84; y++) {
    for (let x = 0; x < 84; x++) {
      page[(y + 5) * w + x + 60] -= 0.7 * src[Math.floor(y / 3) * 28 + Math.floor(x / 3)];
    }
  }
  return page;
}

test("a dark digit on noisy light paper, larger and off-centre, is inverted and framed back", () => {
  for (let i = 0; i < 10; i++) {
    const out = toMnistInput(onPaper(digit(i), i % 2 ? 0.1 : 0), 150, 120);
    assert.equal(out.inverted, true);
    assert.equal(out.framed, true);
    const r = correlation(out.pixels, digit(i));
    assert.ok(r > 0.95, `digit ${i}: correlation ${r}`);
    assert.ok(Math.max(...out.pixels) > 0.9 && Math.min(...out.pixels) === 0);
  }
});

test("explicit invert and frame=false: the whole picture is resized", () => {
  const page = onPaper(digit(0));
  const plain = toMnistInput(page, 150, 120, { invert: false, frame: false });
  assert.deepEqual([plain.inverted, plain.framed], [false, false]);
  assert.ok(Math.abs(plain.pixels[0] - 0.9) < 1e-6);
  const inv = toMnistInput(digit(0), 28, 28, { invert: true, frame: false });
  assert.ok(Math.abs(inv.pixels[0] - 1) < 1e-6 && inv.inverted);
});

test("a blank picture is not framed and comes back as background", () => {
  const out = toMnistInput(new Float32Array(40 * 30).fill(0.95), 40, 30);
  assert.deepEqual([out.inverted, out.framed], [true, false]);
  assert.ok(out.pixels.every((v) => Math.abs(v - 0.05) < 1e-6));
  assert.throws(() => toMnistInput(new Float32Array(10), 3, 3), RangeError);
});

test("centre of mass lands at (14, 14) and the ink box fits 20×20", () => {
  const bar = new Float32Array(60 * 60);
  for (let y = 10; y < 50; y++) for (let x = 5; x < 15; x++) bar[y * 60 + x] = 1;
  const { pixels } = toMnistInput(bar, 60, 60);
  let m = 0;
  let my = 0;
  let mx = 0;
  let rows = 0;
  for (let y = 0; y < 28; y++) {
    let any = false;
    for (let x = 0; x < 28; x++) {
      const v = pixels[y * 28 + x];
      m += v;
      my += v * y;
      mx += v * x;
      any ||= v > 0;
    }
    if (any) rows++;
  }
  assert.equal(rows, 20);
  assert.ok(Math.abs(my / m - 14) <= 0.5 && Math.abs(mx / m - 14) <= 0.5, `${my / m}, ${mx / m}`);
});
