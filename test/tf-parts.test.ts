// src/nn/tf.ts stands in for the @tensorflow/tfjs umbrella: importing it alone must register every
// gradient tfjs-core defines, the layers API CGLayer builds on, and the cpu backend.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import * as tf from "../src/nn/tf.js";

test("every gradient tfjs-core lists in register_all_gradients is registered", () => {
  const file = createRequire(import.meta.url).resolve(
    "@tensorflow/tfjs-core/dist/register_all_gradients.js",
  );
  const kernels = [...readFileSync(file, "utf8").matchAll(/from '\.\/gradients\/(\w+)_grad'/g)].map(
    (m) => m[1],
  );
  assert.ok(kernels.length > 90, `found ${kernels.length} gradient modules`);
  assert.deepEqual(
    kernels.filter((kernel) => tf.getGradient(kernel) === undefined),
    [],
  );
});

test("a gradient through Sum runs on the cpu backend without any other tfjs import", async () => {
  assert.ok(await tf.setBackend("cpu"));
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, x)))(tf.tensor([1, 2, 3]));
  assert.deepEqual(Array.from(g.dataSync()), [2, 4, 6]);
});

test("the layers API and serialisation registry are there for CGLayer", () => {
  assert.equal(typeof tf.layers.Layer, "function");
  assert.equal(typeof tf.serialization.registerClass, "function");
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  assert.deepEqual(model.outputs[0].shape, [null, 2]);
});
