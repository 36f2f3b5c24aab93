// initWeightsInto (the distillation's per-iteration draw into reused arrays) against initWeights:
// the same numbers bit for bit, for every initialiser, whatever the arrays held before.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { distillConvNetSpec } from "../src/nn/convnet.js";
import { resnetSpec } from "../src/nn/resnet.js";
import { type ModelSpec, modelParams } from "../src/nn/spec.js";
import { initWeights, initWeightsInto } from "../src/nn/weights.js";

function drawnInto(spec: ModelSpec, seed: number): Float32Array[] {
  const params = modelParams(spec);
  // Stale values (7) where the previous network was: zeros and ones must overwrite them.
  const into = params.map((p) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(7));
  initWeightsInto(params, seed, into);
  return into;
}

test("initWeightsInto draws initWeights' numbers bit for bit (he-normal, zeros, ones)", () => {
  const spec = resnetSpec({ depth: 18, width: 2, input: [12, 12, 1], ...MNIST_NORMALIZATION });
  const params = modelParams(spec);
  assert.deepEqual(new Set(params.map((p) => p.init)), new Set(["heNormal", "zeros", "ones"]));
  for (const seed of [0, 1234]) {
    const expected = initWeights(spec, seed);
    const into = drawnInto(spec, seed);
    for (const [k, p] of params.entries()) assert.deepEqual(into[k], expected[p.name].data, p.name);
  }
});

test("the distillation ConvNet's draw is the one it always was (values from before initWeightsInto)", () => {
  const spec = distillConvNetSpec({ width: 4 });
  const [first] = drawnInto(spec, 1234);
  // Recorded from initWeights at commit 73ca510, before the draw was split out.
  const recorded = [
    -0.3109813928604126, 0.2094784677028656, 0.8800537586212158, 0.29281893372535706,
  ];
  assert.deepEqual(Array.from(first.subarray(0, 4)), recorded);
  assert.deepEqual(first, initWeights(spec, 1234)["1.kernel"].data);
});

test("initWeightsInto refuses arrays that do not fit the parameters", () => {
  const params = modelParams(distillConvNetSpec({ width: 4 }));
  assert.throws(() => initWeightsInto(params, 1, []), /0 arrays for 3 parameters/);
  const wrong = params.map(() => new Float32Array(3));
  assert.throws(() => initWeightsInto(params, 1, wrong), /1\.kernel needs 36 values, got 3/);
});
