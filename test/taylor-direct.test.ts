// Direct Taylor expansion (Eq. 3): the typed-array monomial features against explicit products,
// their gradient, the term counts of the paper (order 4 on 7×7 ≈ 293k), and the spec.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { trainDirect } from "../src/analysis/direct-train.js";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { initBackend } from "../src/nn/backend.js";
import { countMonomials, enumerateMonomials, monomialRecurrence } from "../src/nn/monomials.js";
import { countParams, outputShape } from "../src/nn/spec.js";
import {
  monomialFeatures,
  monomialFeaturesArray,
  recurrenceArrays,
  taylorDirectSpec,
} from "../src/nn/taylor-direct.js";
import * as tf from "../src/nn/tf.js";
import { train } from "../src/train/trainer.js";
import { rng } from "../src/util/random.js";
import { maxRelErr, randn } from "./cg-helpers.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

test("monomialFeaturesArray equals the explicit products in the canonical order", () => {
  const vars = 5;
  const x = randn(3 * vars, 1);
  const features = monomialFeaturesArray(x, 3, vars, 3);
  const tuples = enumerateMonomials(vars, 3);
  assert.equal(features.length, 3 * tuples.length);
  for (let b = 0; b < 3; b++) {
    tuples.forEach((tuple, t) => {
      const expected = tuple.reduce((p, i) => p * x[b * vars + i], 1);
      assert.ok(Math.abs(features[b * tuples.length + t] - expected) < 1e-5);
    });
  }
});

test("recurrenceArrays equals monomialRecurrence (the canonical order)", () => {
  for (const [vars, order] of [
    [5, 3],
    [4, 4],
    [9, 2],
  ]) {
    const fast = recurrenceArrays(vars, order);
    const slow = monomialRecurrence(vars, order);
    assert.deepEqual(
      Array.from(fast.parent),
      slow.map((e) => e.parent),
    );
    assert.deepEqual(
      Array.from(fast.variable),
      slow.map((e) => e.variable),
    );
  }
});

test("monomialFeatures (tfjs) has the right values and input gradient", () => {
  const vars = 4;
  const xs = randn(2 * vars, 2);
  const x = tf.tensor2d(xs, [2, vars]);
  const tuples = enumerateMonomials(vars, 3);
  const r = randn(2 * tuples.length, 3);
  const dx = tf.grad((a) =>
    tf.sum(tf.mul(monomialFeatures(a as tf.Tensor2D, 3), tf.tensor2d(r, [2, tuples.length]))),
  )(x);
  const expected = new Float64Array(2 * vars);
  for (let b = 0; b < 2; b++) {
    tuples.forEach((tuple, t) => {
      tuple.forEach((v, p) => {
        const rest = tuple.reduce((acc, q, pq) => (pq === p ? acc : acc * xs[b * vars + q]), 1);
        expected[b * vars + v] += r[b * tuples.length + t] * rest;
      });
    });
  }
  assert.ok(maxRelErr(dx.dataSync(), expected) < 1e-4);
  const y = monomialFeatures(x, 2);
  assert.deepEqual(y.shape, [2, countMonomials(vars, 2)]);
  tf.dispose([x, dx, y]);
});

test("term counts: 7×7 order 1..4 (order 4 ≈ 293k) and the spec's parameters", () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => countMonomials(49, n)),
    [49, 1274, 22099, 292824],
  );
  const spec = taylorDirectSpec(2);
  assert.deepEqual(outputShape(spec), [10]);
  assert.equal(countParams(spec), 1274 * 10 + 10);
});

test("order-4 features of a 64-image 7×7 batch take well under a second of CPU (recurrence cached, JIT warm)", () => {
  const x = randn(64 * 49, 4);
  recurrenceArrays(49, 4);
  monomialFeaturesArray(x, 4, 49, 4);
  const cpu = process.cpuUsage();
  const f = monomialFeaturesArray(x, 64, 49, 4);
  const used = process.cpuUsage(cpu);
  const ms = (used.user + used.system) / 1000;
  assert.equal(f.length, 64 * 292824);
  assert.ok(ms < 1500, `${ms} ms`);
});

test("trainDirect (features outside autograd) matches the engine's train() on the same spec", async () => {
  const random = rng(4);
  const count = 48;
  const data = {
    name: "synthetic7",
    images: Float32Array.from({ length: count * 49 }, () => random()),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    height: 7,
    width: 7,
    channels: 1,
    classes: Array.from({ length: 10 }, (_, k) => `${k}`),
  };
  const spec = taylorDirectSpec(2);
  const options = { epochs: 3, batchSize: 16, lr: 0.01, seed: 2 };
  const direct = await trainDirect(data, { spec, order: 2, norm: MNIST_NORMALIZATION, ...options });
  const engine = await train({ spec, train: data, ...options, progress: "none" });
  assert.ok(maxRelErr(direct.weights["3.kernel"].data, engine.weights["3.kernel"].data) < 1e-3);
  assert.ok(maxRelErr(direct.weights["3.bias"].data, engine.weights["3.bias"].data) < 1e-3);
  const losses = direct.history.map((h) => h.loss);
  assert.ok(losses[2] < losses[0], `${losses}`);
  engine.history.forEach((h, i) => {
    assert.ok(Math.abs(h.loss - direct.history[i].loss) < 1e-3);
  });
});
