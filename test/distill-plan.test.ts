import assert from "node:assert/strict";
import { test } from "node:test";
import { classCounts, planDistillation, subsetSeed } from "../src/distill/plan.js";

const MNIST_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

function labelsFor(counts: number[]): Uint8Array {
  const labels: number[] = [];
  counts.forEach((n, c) => {
    for (let i = 0; i < n; i++) labels.push(c);
  });
  // interleave so class order differs from index order
  for (let i = labels.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  return Uint8Array.from(labels);
}

test("MNIST counts: every image used exactly once, per-class sizes differ by at most one", () => {
  const labels = labelsFor(MNIST_COUNTS);
  const plan = planDistillation(labels, 10, [10, 6, 5, 5, 4], 1);
  assert.deepEqual(
    plan.levels.map((l) => [l.level, l.subsets]),
    [
      [1, 600],
      [2, 100],
      [3, 20],
      [4, 4],
      [5, 1],
    ],
  );
  const seen = new Uint8Array(labels.length);
  for (const subset of plan.levels[0].members) {
    subset.forEach((images, c) => {
      const n = MNIST_COUNTS[c];
      assert.ok(images.length === Math.floor(n / 600) || images.length === Math.ceil(n / 600));
      for (const i of images) {
        assert.equal(labels[i], c);
        seen[i]++;
      }
    });
  }
  assert.ok(seen.every((v) => v === 1));
});

test("higher levels group each output of the level below exactly once, same class", () => {
  const plan = planDistillation(labelsFor(MNIST_COUNTS), 10, [10, 6, 5, 5, 4], 3);
  for (let l = 1; l < plan.levels.length; l++) {
    const below = plan.levels[l - 1].subsets * 10;
    const used = new Uint8Array(below);
    for (const subset of plan.levels[l].members) {
      subset.forEach((inputs, c) => {
        assert.equal(inputs.length, plan.fanIns[l]);
        for (const i of inputs) {
          assert.equal(i % 10, c);
          used[i]++;
        }
      });
    }
    assert.ok(
      used.every((v) => v === 1),
      `level ${l + 1}`,
    );
  }
});

test("the plan is a pure function of its seed", () => {
  const labels = labelsFor([30, 31, 29]);
  const a = planDistillation(labels, 3, [5, 3, 2], 42);
  const b = planDistillation(labels, 3, [5, 3, 2], 42);
  const c = planDistillation(labels, 3, [5, 3, 2], 43);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.levels[0].members, c.levels[0].members);
  assert.equal(subsetSeed(1, 2, 3), subsetSeed(1, 2, 3));
  assert.notEqual(subsetSeed(1, 2, 3), subsetSeed(1, 3, 2));
});

test("impossible fan-ins are rejected with a clear message", () => {
  const labels = labelsFor([30, 31, 29]);
  assert.throws(() => planDistillation(labels, 3, [], 1), /at least one level/);
  assert.throws(() => planDistillation(labels, 3, [5, 2.5], 1), /positive integers/);
  assert.throws(() => planDistillation(labels, 3, [5, 0], 1), /positive integers/);
  assert.throws(
    () => planDistillation(labels, 3, [1, 10, 4], 1),
    /class 0 has 30 images but fan-ins 1,10,4 need 40 level-1 subsets/,
  );
  assert.throws(
    () => planDistillation(labels, 3, [100, 2], 1),
    /expect about 200 images per class \(product\), but class 0 has 30/,
  );
  assert.throws(() => classCounts(Uint8Array.from([0, 4]), 3), /label 4 outside 0\.\.2/);
});
