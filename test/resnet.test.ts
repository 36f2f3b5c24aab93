import assert from "node:assert/strict";
import { test } from "node:test";
import { CIFAR10_NORMALIZATION, MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { initBackend } from "../src/nn/backend.js";
import { forward, type ParamTensors } from "../src/nn/forward.js";
import { resnetEmbeddingSize, resnetSpec } from "../src/nn/resnet.js";
import { countParams, inferShapes, modelParams, outputShape } from "../src/nn/spec.js";
import * as tf from "../src/nn/tf.js";
import { initWeights } from "../src/nn/weights.js";

const cifar = (depth: 18 | 50, width: number) =>
  resnetSpec({ depth, width, input: [32, 32, 3], ...CIFAR10_NORMALIZATION });

/** Trainable parameters of a basic-block ResNet18, counted by hand: convs + BN (gamma, beta). */
function handCountResnet18(width: number, inChannels: number): number {
  let n = 9 * inChannels * width + 2 * width;
  let cin = width;
  for (let stage = 0; stage < 4; stage++) {
    const p = width * 2 ** stage;
    for (let b = 0; b < 2; b++) {
      n += 9 * cin * p + 2 * p + 9 * p * p + 2 * p;
      if (cin !== p || (stage > 0 && b === 0)) n += cin * p + 2 * p;
      cin = p;
    }
  }
  return n;
}

test("ResNet18 at width 64 on CIFAR matches the standard 11,173,962 parameters with a 10-class fc", () => {
  const fc = 512 * 10 + 10;
  assert.equal(countParams(cifar(18, 64)) + fc, 11_173_962);
});

test("ResNet50 at width 64 on CIFAR matches the standard 23,520,842 parameters with a 10-class fc", () => {
  const fc = 2048 * 10 + 10;
  assert.equal(countParams(cifar(50, 64)) + fc, 23_520_842);
});

test("ResNet18 parameter count agrees with a hand count at other widths and channels", () => {
  for (const width of [8, 16, 24]) {
    const spec = resnetSpec({ depth: 18, width, input: [28, 28, 1], ...MNIST_NORMALIZATION });
    assert.equal(countParams(spec), handCountResnet18(width, 1));
  }
});

test("ResNet shapes: 28×28 goes 28→14→7→4 and pools to the embedding size", () => {
  const spec = resnetSpec({ depth: 18, width: 16, input: [28, 28, 1], ...MNIST_NORMALIZATION });
  const spatial = inferShapes(spec.layers, spec.input)
    .filter((s) => s.length === 3)
    .map((s) => s[0]);
  assert.deepEqual([...new Set(spatial)], [28, 14, 7, 4]);
  assert.deepEqual(outputShape(spec), [128]);
  assert.equal(resnetEmbeddingSize(18, 16), 128);
  const r50 = resnetSpec({ depth: 50, width: 4, input: [28, 28, 1], ...MNIST_NORMALIZATION });
  assert.deepEqual(outputShape(r50), [resnetEmbeddingSize(50, 4)]);
  assert.equal(resnetEmbeddingSize(50, 4), 128);
  assert.equal(spec.output, "embedding");
});

test("ResNet18 has projection shortcuts exactly where the shape changes", () => {
  const spec = resnetSpec({ depth: 18, width: 8, input: [28, 28, 1], ...MNIST_NORMALIZATION });
  const shortcuts = modelParams(spec)
    .filter((p) => p.name.includes(".shortcut.") && p.name.endsWith(".kernel"))
    .map((p) => p.shape);
  assert.deepEqual(shortcuts, [
    [1, 1, 8, 16],
    [1, 1, 16, 32],
    [1, 1, 32, 64],
  ]);
});

test("bad depth or width is rejected", () => {
  assert.throws(
    () => resnetSpec({ depth: 34 as 18, width: 8, input: [28, 28, 1], ...MNIST_NORMALIZATION }),
    /depth/,
  );
  assert.throws(
    () => resnetSpec({ depth: 18, width: 0, input: [28, 28, 1], ...MNIST_NORMALIZATION }),
    /width/,
  );
});

test("tiny ResNet18 and ResNet50 run forward on wasm with batch statistics per BN layer", async () => {
  await initBackend("wasm", { quiet: true });
  for (const depth of [18, 50] as const) {
    const spec = resnetSpec({ depth, width: 2, input: [12, 12, 1], ...MNIST_NORMALIZATION });
    const weights = initWeights(spec, 3);
    const before = tf.memory().numTensors;
    const params: ParamTensors = Object.fromEntries(
      Object.entries(weights).map(([name, w]) => [name, tf.tensor(w.data, w.shape)]),
    );
    const batchStats: Record<string, { mean: tf.Tensor; variance: tf.Tensor }> = {};
    const out = tf.tidy(() =>
      forward(spec, params, tf.randomUniform([3, 12, 12, 1], 0, 1, "float32", 1), {
        training: true,
        batchStats,
      }),
    );
    assert.deepEqual(out.shape, [3, resnetEmbeddingSize(depth, 2)]);
    assert.ok(Array.from(out.dataSync()).every(Number.isFinite));
    const bnLayers = modelParams(spec).filter((p) => p.name.endsWith(".gamma")).length;
    assert.equal(Object.keys(batchStats).length, bnLayers);
    out.dispose();
    tf.dispose(Object.values(params));
    assert.equal(tf.memory().numTensors, before);
  }
});
