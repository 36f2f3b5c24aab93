import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveFanIns, FanInError, fitFanIns } from "../src/distill/fan-ins.js";
import { PlanError, planDistillation } from "../src/distill/plan.js";

test("derived fan-ins fit the class sizes and the planner accepts them", () => {
  for (const [sizes, levels, expected] of [
    [[24, 24, 24], 5, [2, 2, 2, 2, 2]],
    [[6000, 5900, 5421], 5, [4, 6, 6, 6, 6]],
    [[5, 7], 5, [1, 2, 2]],
    [[2, 2], 5, [1, 2]],
    [[300, 320], 3, [6, 7, 7]],
  ] as const) {
    const fanIns = deriveFanIns(sizes, levels);
    assert.deepEqual(fanIns, expected, `${sizes}`);
    const labels = Uint8Array.from(sizes.flatMap((n, c) => new Array(n).fill(c)));
    assert.doesNotThrow(() => planDistillation(labels, sizes.length, fanIns, 1), `${sizes}`);
  }
});

test("sizes no plan fits are refused with what to do", () => {
  assert.throws(() => deriveFanIns([1, 30]), /at least 2/);
  assert.throws(() => deriveFanIns([20, 2000]), /too unequal.*--fan-ins/);
});

test("fitting keeps fan-ins the planner accepts and derives as many levels when it does not", () => {
  const labels = (sizes: number[]) =>
    Uint8Array.from(sizes.flatMap((n, c) => new Array(n).fill(c)));
  // MNIST's preset on MNIST-sized classes: kept as they are.
  const mnist = labels([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(fitFanIns(mnist, 10, [10, 6, 5, 5, 4], 1, { derive: true }), {
    fanIns: [10, 6, 5, 5, 4],
  });
  // The quick preset's 10,3,2,2 (120 per class) on 300 per class: four derived levels.
  const quick = labels([300, 290, 310]);
  const fit = fitFanIns(quick, 3, [10, 3, 2, 2], 1, { derive: true });
  assert.equal(fit.fanIns.length, 4);
  assert.deepEqual(fit.sizes, [300, 290, 310]);
  assert.doesNotThrow(() => planDistillation(quick, 3, fit.fanIns, 1));
  // Given fan-ins are the user's: the planner's refusal stands, and so does an unfit data set.
  assert.throws(
    () => fitFanIns(quick, 3, [10, 3, 2, 2], 1, { derive: false }),
    (e) => e instanceof PlanError && /expect about 120 images per class/.test(e.message),
  );
  assert.throws(
    () => fitFanIns(labels([20, 2000]), 2, [10, 3], 1, { derive: true }),
    (e) => e instanceof FanInError,
  );
});
