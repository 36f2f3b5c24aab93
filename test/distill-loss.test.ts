import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { classDistances, classStats, disposeStats, eq5Loss } from "../src/distill/loss.js";
import { initBackend } from "../src/nn/backend.js";

before(() => initBackend("wasm", { quiet: true }));

test("Eq. 5 matches a hand computation, value and gradient", async () => {
  // Y0 = (0,0), Y1 = (1,0); class 0: (1,0), (0,1); class 1: (2,0).
  // d00 = 2, d01 = 4, d11 = 1, d10 = 2 → L = (19·2 − 4) + (19·1 − 2) = 51, N = 3.
  const fx = tf.tensor2d([
    [1, 0],
    [2, 0],
    [0, 1],
  ]);
  const stats = classStats(fx, [0, 1, 0], 2);
  const fy = tf.tensor2d([
    [0, 0],
    [1, 0],
  ]);
  const d = classDistances(fy, stats);
  assert.deepEqual(Array.from(await d.data()), [2, 4, 2, 1]);
  const loss = eq5Loss(fy, stats, 19);
  assert.ok(Math.abs((await loss.data())[0] - 51 / 3) < 1e-5);
  // dL/dY_α = 2λ Σ_{i∈α}(Y_α − x_i) − 2 Σ_{i∉α}(Y_α − x_i), divided by N:
  // dY0 = (−38, −38) + (4, 0) = (−34, −38); dY1 = (−38, 0) − 2·(1, −1) = (−40, 2).
  const g = tf.grad((y: tf.Tensor) => eq5Loss(y as tf.Tensor2D, stats, 19))(fy);
  const expected = [-34, -38, -40, 2].map((v) => v / 3);
  const got = Array.from(await g.data());
  for (const [i, v] of got.entries()) {
    assert.ok(Math.abs(v - expected[i]) < 1e-4, `${got} vs ${expected}`);
  }
  tf.dispose([fx, fy, d, loss, g]);
  disposeStats(stats);
});

test("Eq. 5 equals the brute-force double sum on random embeddings", async () => {
  const n = 3;
  const labels = [0, 1, 2, 2, 1, 0, 0];
  const x = Array.from({ length: labels.length }, (_, i) => [Math.sin(i), Math.cos(3 * i), i / 7]);
  const y = Array.from({ length: n }, (_, a) => [a / 2, -a, Math.sin(a + 1)]);
  const lambda = 4;
  let expected = 0;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      let d = 0;
      labels.forEach((l, i) => {
        if (l === b) d += x[i].reduce((s, xi, k) => s + (y[a][k] - xi) ** 2, 0);
      });
      expected += a === b ? lambda * d : -d;
    }
  }
  const fx = tf.tensor2d(x);
  const fy = tf.tensor2d(y);
  const stats = classStats(fx, labels, n);
  const loss = eq5Loss(fy, stats, lambda);
  const got = (await loss.data())[0] * labels.length;
  assert.ok(Math.abs(got - expected) < 1e-3 * Math.abs(expected), `${got} vs ${expected}`);
  tf.dispose([fx, fy, loss]);
  disposeStats(stats);
});
