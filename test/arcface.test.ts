import assert from "node:assert/strict";
import { test } from "node:test";
import { arcfaceCosines, arcfaceLogits } from "../src/nn/arcface.js";
import * as tf from "../src/nn/tf.js";
import { softmaxCrossEntropy } from "../src/train/losses.js";

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5) {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    assert.ok(Math.abs(actual[i] - e) < tol, `element ${i}: ${actual[i]} vs ${e}`);
  });
}

// Embeddings [3,4]/5 = (0.6, 0.8) and (−0.9, √0.19); class weights (1, 0) and (0, 2), columns.
const embedding = () =>
  tf.tensor2d([
    [3, 4],
    [-0.9, Math.sqrt(0.19)],
  ]);
const weights = () =>
  tf.tensor2d([
    [1, 0],
    [0, 2],
  ]);
const targets = () =>
  tf.tensor2d([
    [1, 0],
    [1, 0],
  ]);

test("cosines normalise both the embeddings and the class weights", () => {
  const cos = tf.tidy(() => arcfaceCosines(embedding(), weights()));
  close(cos.dataSync(), [0.6, 0.8, -0.9, 0.4358899]);
  cos.dispose();
});

test("ArcFace logits match a hand computation, including the threshold fallback", () => {
  const [logits, loss] = tf.tidy(() => {
    const l = arcfaceLogits(arcfaceCosines(embedding(), weights()), targets(), {
      scale: 2,
      margin: 0.5,
    });
    return [l, softmaxCrossEntropy(l, targets())];
  });
  // Row 1: 2·(0.6·cos 0.5 − 0.8·sin 0.5) for the target, 2·0.8 for the other class.
  // Row 2: cos θ = −0.9 ≤ cos(π − 0.5) ≈ −0.8776, so the target is 2·(−0.9 − 0.5·sin 0.5).
  close(logits.dataSync(), [0.2860182, 1.6, -2.2794255, 0.8717798]);
  // Cross-entropy by hand: log(e^a + e^b) − a per row, averaged.
  close(loss.dataSync(), [(1.5520122 + 3.1931152) / 2]);
  tf.dispose([logits, loss]);
});

test("easy margin leaves non-positive cosines unchanged", () => {
  const logits = tf.tidy(() =>
    arcfaceLogits(arcfaceCosines(embedding(), weights()), targets(), {
      scale: 2,
      margin: 0.5,
      easyMargin: true,
    }),
  );
  close(logits.dataSync(), [0.2860182, 1.6, -1.8, 0.8717798]);
  logits.dispose();
});

test("a zero margin gives plain scaled cosines, and gradients stay finite at cos = ±1", () => {
  const logits = tf.tidy(() =>
    arcfaceLogits(arcfaceCosines(embedding(), weights()), targets(), { scale: 3, margin: 0 }),
  );
  close(logits.dataSync(), [1.8, 2.4, -2.7, 3 * 0.4358899]);
  logits.dispose();
  const grad = tf.tidy(() =>
    tf.grad((e: tf.Tensor) =>
      softmaxCrossEntropy(
        arcfaceLogits(arcfaceCosines(e as tf.Tensor2D, weights()), targets(), {
          scale: 64,
          margin: 0.5,
        }),
        targets(),
      ),
    )(
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
    ),
  );
  assert.ok(Array.from(grad.dataSync()).every(Number.isFinite));
  grad.dispose();
});
