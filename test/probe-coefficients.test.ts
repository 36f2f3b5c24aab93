// Reading a black-box polynomial's coefficients by finite differences, and the PNG encoder behind
// the page's images (round-tripped through the project's own PNG decoder).
import assert from "node:assert/strict";
import { test } from "node:test";
import { probeCoefficients, probeCount } from "../src/analysis/probe-coefficients.js";
import { decodePlainPng } from "../src/data/png-decode.js";
import { encodePng } from "../src/data/png-encode.js";

/** Two outputs over 4 variables with known coefficients, plus a cubic term the probes must tolerate. */
function known(x: ArrayLike<number>): [number, number] {
  const [a, b, c, d] = Array.from(x);
  return [
    0.5 + 2 * a - 3 * d + 1.5 * a * b - 0.25 * c * c + 4 * b * d,
    -1 + c + 0.75 * a * c - 2 * b * b + 0.1 * a * a * a,
  ];
}

async function evaluate(batch: Float32Array, n: number): Promise<Float32Array> {
  const out = new Float32Array(n * 2);
  for (let r = 0; r < n; r++) out.set(known(batch.subarray(r * 4, r * 4 + 4)), r * 2);
  return out;
}

test("probes read constants, linear, square and pair coefficients of a polynomial", async () => {
  const c = await probeCoefficients(evaluate, 4, 2, { step: 0.05, batch: 7 });
  assert.equal(c.probes, probeCount(4, true));
  assert.equal(c.probes, 1 + 8 + 2 * 4 * 3);
  const close = (actual: number, expected: number, tol = 1e-3) =>
    assert.ok(Math.abs(actual - expected) < tol, `${actual} vs ${expected}`);
  close(c.constant[0], 0.5);
  close(c.constant[1], -1);
  [2, 0, 0, -3].forEach((v, i) => {
    close(c.linear[i], v);
  });
  // The cubic 0.1·a³ shifts a's central difference by 0.1·h² = 2.5e-4: inside the O(h²) error.
  [0, 0, 1, 0].forEach((v, i) => {
    close(c.linear[4 + i], v);
  });
  [0, 0, -0.25, 0].forEach((v, i) => {
    close(c.square[i], v);
  });
  [0, -2, 0, 0].forEach((v, i) => {
    close(c.square[4 + i], v);
  });
  const pair = (o: number, i: number, j: number) => c.pairs![o * 16 + i * 4 + j];
  close(pair(0, 0, 1), 1.5);
  close(pair(0, 1, 0), 1.5);
  close(pair(0, 1, 3), 4);
  close(pair(0, 0, 2), 0);
  close(pair(1, 0, 2), 0.75);
  close(pair(1, 2, 3), 0);
});

test("without pairs only 1 + 2n probes are run", async () => {
  let seen = 0;
  const c = await probeCoefficients(
    async (batch, n) => {
      seen += n;
      return evaluate(batch, n);
    },
    4,
    2,
    { pairs: false },
  );
  assert.equal(seen, 9);
  assert.equal(c.pairs, null);
  assert.ok(Math.abs(c.linear[3] + 3) < 1e-3);
});

test("a wrong output size from evaluate is an error, not garbage", async () => {
  await assert.rejects(
    probeCoefficients(async () => new Float32Array(3), 4, 2),
    /returned 3 values for 33 probes × 2 outputs/,
  );
});

test("encodePng round-trips grey and RGBA pixels through the PNG decoder", () => {
  for (const channels of [1, 2, 3, 4]) {
    const w = 5;
    const h = 3;
    const pixels = Float32Array.from({ length: w * h * channels }, (_, i) => (i % 17) / 16);
    const decoded = decodePlainPng(encodePng(pixels, w, h, channels), 1000);
    assert.ok(decoded, `${channels} channels decode`);
    assert.deepEqual([decoded.width, decoded.height, decoded.channels], [w, h, channels]);
    assert.deepEqual(
      Array.from(decoded.data),
      Array.from(pixels, (v) => Math.round(v * 255)),
    );
  }
  assert.throws(() => encodePng(new Float32Array(4), 2, 2, 5), /5 channels/);
  assert.throws(() => encodePng(new Float32Array(3), 2, 2, 1), /3 values for 2×2×1/);
});
