import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveFanIns } from "../src/distill/fan-ins.js";
import { planDistillation } from "../src/distill/plan.js";

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
