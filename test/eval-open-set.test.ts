import assert from "node:assert/strict";
import { test } from "node:test";
import { angleReport } from "../src/eval/angle.js";
import { acceptedShare, calibrateMinSimilarity, isUnknown } from "../src/index/open-set.js";

test("the calibrated threshold keeps the asked share of in-distribution similarities", () => {
  const sims = Array.from({ length: 100 }, (_, i) => 0.5 + i / 200);
  const t = calibrateMinSimilarity(sims, 0.95);
  assert.equal(t, sims[5]);
  assert.equal(acceptedShare(sims, t), 0.95);
  assert.equal(calibrateMinSimilarity(sims, 1), sims[0]);
  assert.equal(calibrateMinSimilarity([0.9, 0.2, 0.7], 0.5), 0.7);
  assert.throws(() => calibrateMinSimilarity([], 0.9), /at least one/);
  assert.throws(() => calibrateMinSimilarity([1], 0), /accept rate/);
});

test("below the threshold is unknown; without one nothing is", () => {
  assert.equal(isUnknown(0.4, 0.5), true);
  assert.equal(isUnknown(0.5, 0.5), false);
  assert.equal(isUnknown(-1, undefined), false);
});

test("evaluation calibrates one threshold per level on the held-back images", () => {
  const report = angleReport({
    dim: 2,
    classes: 2,
    test: { embeddings: Float32Array.from([1, 0, 0, 1, 1, 1]), labels: [0, 1, 0] },
    levels: [{ level: 5, embeddings: Float32Array.from([1, 0, 0, 1]), labels: [0, 1] }],
  });
  // Best matches 1, 1 and cos 45°: keeping 95% of three images keeps all three.
  assert.deepEqual(Object.keys(report.minSimilarity ?? {}), ["5"]);
  assert.ok(Math.abs((report.minSimilarity?.["5"] ?? 0) - Math.SQRT1_2) < 1e-6);
});
