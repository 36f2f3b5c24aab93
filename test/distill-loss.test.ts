import assert from "node:assert/strict";
import { before, test } from "node:test";
import { classDistances, classStats, disposeStats, eq5Loss } from "../src/distill/loss.js";
import { initBackend } from "../src/nn/backend.js";
import * as tf from "../src/nn/tf.js";

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

// Three well-separated 2-D classes of two points each, means (0,0), (10,0), (0,10).
const separated = {
  x: [
    [-1, 0],
    [1, 0],
    [9, 0],
    [11, 0],
    [0, 9],
    [0, 11],
  ],
  labels: [0, 0, 1, 1, 2, 2],
  means: [
    [0, 0],
    [10, 0],
    [0, 10],
  ],
};

async function lossAndGrad(y: number[][], repulsion: "eq5" | "capped") {
  const fx = tf.tensor2d(separated.x);
  const fy = tf.tensor2d(y);
  const stats = classStats(fx, separated.labels, 3);
  const loss = eq5Loss(fy, stats, 19, repulsion);
  const g = tf.grad((t: tf.Tensor) => eq5Loss(t as tf.Tensor2D, stats, 19, repulsion))(fy);
  const out = { loss: (await loss.data())[0], grad: Array.from(await g.data()) };
  tf.dispose([fx, fy, loss, g]);
  disposeStats(stats);
  return out;
}

test("capped repulsion: beyond the real class mean only the pull remains", async () => {
  // Each synthetic point pushed further from the other classes than its class mean is.
  const y = [
    [-5, -5],
    [15, -5],
    [-5, 15],
  ];
  const { grad } = await lossAndGrad(y, "capped");
  // dL/dy_α = 2λ·m_α·(y_α − μ_α)/N with m_α = 2, N = 6.
  const expected = y.flatMap((p, a) =>
    p.map((v, k) => (2 * 19 * 2 * (v - separated.means[a][k])) / 6),
  );
  for (const [i, v] of grad.entries()) assert.ok(Math.abs(v - expected[i]) < 1e-3, `${grad}`);
  const eq5 = await lossAndGrad(y, "eq5");
  assert.ok(
    eq5.grad.some((v, i) => Math.abs(v - expected[i]) > 1),
    "eq5 still repels there",
  );
});

test("capped repulsion equals Eq. 5 where every image is nearer the other classes than its mean", async () => {
  const centroid = [10 / 3, 10 / 3];
  const y = [centroid, centroid, centroid];
  const capped = await lossAndGrad(y, "capped");
  const eq5 = await lossAndGrad(y, "eq5");
  assert.ok(Math.abs(capped.loss - eq5.loss) < 1e-3);
  for (const [i, v] of capped.grad.entries()) assert.ok(Math.abs(v - eq5.grad[i]) < 1e-3);
});
