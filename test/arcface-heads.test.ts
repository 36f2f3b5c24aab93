import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { resnetEmbeddingSize, resnetSpec } from "../src/nn/resnet.js";
import * as tf from "../src/nn/tf.js";
import { initWeights } from "../src/nn/weights.js";
import { embedderHead } from "../src/train/heads.js";
import { computeGradients } from "../src/train/step.js";
import { rng } from "../src/util/random.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

const output = () =>
  tf.tensor2d([
    [3, 4],
    [1, -1],
  ]);
const oneHot = () =>
  tf.tensor2d([
    [0, 1],
    [1, 0],
  ]);

test("the cross-entropy head is a dense layer with softmax cross-entropy", () => {
  const head = embedderHead({ loss: "ce", embeddingSize: 2, classes: 2 });
  assert.deepEqual(
    head.params.map((p) => [p.name, p.shape]),
    [
      ["kernel", [2, 2]],
      ["bias", [2]],
    ],
  );
  const [logits, loss] = tf.tidy(() => {
    const p = {
      kernel: tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      bias: tf.tensor1d([0, 1]),
    };
    return [head.logits(output(), p), head.loss(output(), oneHot(), p)];
  });
  assert.deepEqual(Array.from(logits.dataSync()), [3, 5, 1, 0]);
  // Row 1: log(e^3 + e^5) − 5; row 2: log(e^1 + e^0) − 1.
  const expected = (Math.log(Math.exp(3) + Math.exp(5)) - 5 + Math.log(Math.E + 1) - 1) / 2;
  assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-5);
  tf.dispose([logits, loss]);
});

test("the ArcFace head predicts with scaled cosines and trains with the margin", () => {
  const head = embedderHead({
    loss: "arcface",
    embeddingSize: 2,
    classes: 2,
    scale: 10,
    margin: 0.3,
  });
  assert.deepEqual(
    head.params.map((p) => p.name),
    ["weight"],
  );
  assert.equal(head.source?.factory, "embedderHead");
  const [logits, loss] = tf.tidy(() => {
    const p = {
      weight: tf.tensor2d([
        [2, 0],
        [0, 1],
      ]),
    };
    return [head.logits(output(), p), head.loss(output(), oneHot(), p)];
  });
  const s = Math.SQRT1_2;
  const cos = [0.6, 0.8, s, -s];
  cos.forEach((c, i) => {
    assert.ok(Math.abs(logits.dataSync()[i] - 10 * c) < 1e-5);
  });
  // Targets: row 1 class 1 (cos 0.8), row 2 class 0 (cos √½), both widened by 0.3 rad.
  const widen = (c: number) => c * Math.cos(0.3) - Math.sqrt(1 - c * c) * Math.sin(0.3);
  const ce = (t: number, o: number) => Math.log(Math.exp(t) + Math.exp(o)) - t;
  const expected = (ce(10 * widen(0.8), 6) + ce(10 * widen(s), -10 * s)) / 2;
  assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-4);
  tf.dispose([logits, loss]);
});

for (const loss of ["ce", "arcface"] as const) {
  test(`a tiny ResNet18 with the ${loss} head trains on wasm: gradients flow and the loss falls`, () => {
    const spec = resnetSpec({ depth: 18, width: 2, input: [8, 8, 1], mean: [0.5], std: [0.5] });
    const head = embedderHead({
      loss,
      embeddingSize: resnetEmbeddingSize(18, 2),
      classes: 2,
      scale: 8,
      margin: 0.2,
    });
    const weights = initWeights(spec, 1);
    const random = rng(2);
    for (const p of head.params) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      weights[`head.${p.name}`] = {
        shape: p.shape,
        data: Float32Array.from({ length: size }, () => (p.init === "zeros" ? 0 : random() - 0.5)),
      };
    }
    const trainable = Object.keys(weights).filter(
      (n) => !n.endsWith("movingMean") && !n.endsWith("movingVariance"),
    );
    const labels = Uint8Array.from({ length: 16 }, (_, i) => i % 2);
    const images = new Float32Array(16 * 64);
    labels.forEach((l, i) => {
      for (let p = 0; p < 64; p++)
        images[i * 64 + p] = p % 8 < 4 === (l === 0) ? 0.9 : 0.1 * random();
    });
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      const r = computeGradients({ spec, classes: 2, head, trainable }, weights, {
        images,
        labels,
        count: 16,
      });
      losses.push(r.loss);
      for (const name of trainable) {
        const g = r.grads[name];
        assert.ok(g.every(Number.isFinite), `${name} gradient is finite`);
        weights[name].data.forEach((_, i) => {
          weights[name].data[i] -= 0.05 * g[i];
        });
      }
      if (step === 0) {
        assert.ok(
          r.grads["1.kernel"].some((v) => v !== 0),
          "stem conv gets a gradient",
        );
        assert.ok(r.grads[`head.${head.params[0].name}`].some((v) => v !== 0));
      }
    }
    assert.equal(tf.memory().numTensors, before);
    assert.ok(losses.at(-1)! < losses[0], `loss ${losses[0]} → ${losses.at(-1)}`);
  });
}
