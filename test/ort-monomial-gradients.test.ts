// The ORT training graph's `monomials` layer (the direct Taylor model, Eq. 3) against the tfjs
// reference step: the order-3 model's gradients, and the input gradient through the layer
// (a dense layer before it trains), each to 1e-4.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { type ModelSpec, modelParams } from "../src/nn/spec.js";
import { taylorDirectSpec } from "../src/nn/taylor-direct.js";
import { resolveEngine } from "../src/train/create-engine.js";
import { OrtGradients } from "../src/train/ort/engine.js";
import { computeGradients, type StepModel } from "../src/train/step.js";
import { assertClose, batchFor, weightsFor } from "./ort-grad-helpers.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

async function compare(spec: ModelSpec, classes: number, seed: number) {
  const trainable = modelParams(spec)
    .filter((p) => p.trainable)
    .map((p) => p.name);
  const model: StepModel = { spec, classes, trainable };
  const weights = weightsFor(spec, seed);
  const batch = batchFor(spec, 6, classes, seed + 7);
  const expected = computeGradients(model, weights, batch);
  const engine = await OrtGradients.create(model, { threads: 1 });
  try {
    const actual = await engine.compute(weights, batch);
    assertClose(Float32Array.of(actual.loss), Float32Array.of(expected.loss), "loss");
    assert.equal(actual.correct, expected.correct);
    assert.deepEqual(Object.keys(actual.grads).sort(), [...trainable].sort());
    for (const name of trainable) assertClose(actual.grads[name], expected.grads[name], name);
  } finally {
    await engine.close();
  }
}

test("ORT gradients match tfjs on the order-3 direct Taylor model of 3×3 images", async () => {
  await compare(taylorDirectSpec(3, [3, 3, 1], { mean: [0.3], std: [0.4] }, 4), 4, 3);
});

test("ORT gradients match tfjs through monomials (order 4) to a dense layer before them", async () => {
  const spec: ModelSpec = {
    name: "dense-monomials",
    input: [2, 2, 2],
    output: "logits",
    layers: [
      { kind: "flatten" },
      { kind: "dense", units: 4 },
      { kind: "monomials", order: 4 },
      { kind: "dense", units: 3 },
    ],
  };
  await compare(spec, 3, 5);
});

test("auto trains the direct Taylor model on ORT", () => {
  assert.equal(resolveEngine("auto", { spec: taylorDirectSpec(4) }), "ort");
});
