import assert from "node:assert/strict";
import { before, test } from "node:test";
import { type DmConfig, distillSubset, initialImages, meanLoss } from "../src/distill/dm.js";
import { initBackend } from "../src/nn/backend.js";
import * as tf from "../src/nn/tf.js";
import { toyProblem } from "./distill-helpers.js";

before(() => initBackend("wasm", { quiet: true }));

const config: DmConfig = {
  iterations: 12,
  width: 8,
  lr: 1,
  momentum: 0.5,
  lambda: 19,
  mean: [0.1307],
  std: [0.3081],
};

test("distillSubset is deterministic, in range and leak-free", () => {
  const problem = toyProblem(5, 3);
  const before = tf.memory().numTensors;
  const a = distillSubset(problem, config);
  assert.equal(tf.memory().numTensors, before);
  const b = distillSubset(problem, config);
  assert.deepEqual(a.images, b.images);
  assert.equal(a.images.length, 3 * 144);
  assert.ok(a.images.every((p) => p >= 0 && p <= 1));
  assert.notDeepEqual(a.images, initialImages(problem));
  assert.ok(Number.isFinite(a.firstLoss) && Number.isFinite(a.lastLoss));
});

test("started from the wrong classes' images, the optimisation lowers Eq. 5 a lot", () => {
  const p = toyProblem(5, 3);
  const good = initialImages(p);
  const wrong = new Float32Array(good.length);
  for (let c = 0; c < 3; c++) {
    const from = (c + 1) % 3;
    wrong.set(good.subarray(from * 144, (from + 1) * 144), c * 144);
  }
  const problem = { ...p, init: wrong };
  const before = tf.memory().numTensors;
  const out = distillSubset(problem, { ...config, iterations: 30 });
  const scoreWrong = meanLoss(wrong, problem, config, 6);
  const scoreDistilled = meanLoss(out.images, problem, config, 6);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(scoreWrong > 0, `${scoreWrong}`);
  assert.ok(scoreDistilled < scoreWrong / 4, `${scoreDistilled} vs ${scoreWrong}`);
});

test("zero iterations return one real image of each class", () => {
  const problem = toyProblem(4, 9);
  const out = distillSubset(problem, { ...config, iterations: 0 });
  for (let c = 0; c < 3; c++) {
    const img = out.images.subarray(c * 144, (c + 1) * 144);
    const match = problem.labels.findIndex(
      (label, i) =>
        label === c &&
        problem.images.subarray(i * 144, (i + 1) * 144).every((v, k) => v === img[k]),
    );
    assert.ok(match >= 0, `class ${c} image is not a real image of that class`);
  }
});

test("init 'mean' starts from each class's mean image", () => {
  const problem = toyProblem(4, 9);
  const out = distillSubset(problem, { ...config, iterations: 0, init: "mean" });
  for (let c = 0; c < 3; c++) {
    for (const k of [0, 50, 143]) {
      let mean = 0;
      problem.labels.forEach((label, i) => {
        if (label === c) mean += problem.images[i * 144 + k] / 4;
      });
      assert.ok(Math.abs(out.images[c * 144 + k] - mean) < 1e-6);
    }
  }
});
