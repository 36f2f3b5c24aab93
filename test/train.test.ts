// The trainer on tiny models and synthetic data: learning, no tensor leaks, exact resume,
// one vs two worker threads, checkpoints, metrics.json, evaluate and embed.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Dataset } from "../src/data/dataset.js";
import { initBackend } from "../src/nn/backend.js";
import type { ModelSpec } from "../src/nn/spec.js";
import * as tf from "../src/nn/tf.js";
import { initWeights } from "../src/nn/weights.js";
import { loadCheckpoint } from "../src/train/checkpoint.js";
import { embed, evaluate } from "../src/train/evaluate.js";
import { Optimizer, scheduledLr } from "../src/train/optimizer.js";
import { combineResults, shardSizes } from "../src/train/parallel.js";
import { epochOrder } from "../src/train/seeding.js";
import { computeGradients } from "../src/train/step.js";
import { train } from "../src/train/trainer.js";
import { rng } from "../src/util/random.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "cgnn-train-"));
  dirs.push(d);
  return d;
}

before(async () => {
  await initBackend("wasm", { quiet: true });
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Class 0: bright top half; class 1: bright bottom half; plus noise. */
function stripes(count: number, seed: number): Dataset {
  const random = rng(seed);
  const images = new Float32Array(count * 64);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % 2;
    for (let i = 0; i < 64; i++) {
      const top = i < 32;
      images[n * 64 + i] = 0.5 * random() + ((top ? labels[n] === 0 : labels[n] === 1) ? 0.5 : 0);
    }
  }
  return {
    name: "stripes",
    images,
    labels,
    count,
    height: 8,
    width: 8,
    channels: 1,
    classes: ["top", "bottom"],
  };
}

const convSpec: ModelSpec = {
  name: "tiny-conv",
  input: [8, 8, 1],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.5], std: [0.3] },
    { kind: "conv2d", filters: 4, kernel: 3, padding: "same" },
    { kind: "relu" },
    { kind: "avgPool", size: 2 },
    { kind: "flatten" },
    { kind: "dense", units: 2 },
  ],
};

const bnSpec: ModelSpec = {
  ...convSpec,
  name: "tiny-bn",
  layers: [
    { kind: "conv2d", filters: 4, kernel: 3, padding: "same", bias: false },
    { kind: "batchNorm" },
    { kind: "relu" },
    { kind: "globalAvgPool" },
    { kind: "dense", units: 2 },
  ],
};

test("a training step leaks no tensors and returns every gradient", () => {
  const data = stripes(6, 1);
  const weights = initWeights(bnSpec, 1);
  const trainable = ["0.kernel", "1.gamma", "1.beta", "4.kernel", "4.bias"];
  const model = { spec: bnSpec, classes: 2, trainable };
  computeGradients(model, weights, data);
  const before = tf.memory().numTensors;
  const r = computeGradients(model, weights, data);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Object.keys(r.grads).sort(), [...trainable].sort());
  assert.ok(r.grads["0.kernel"].some((v) => v !== 0));
  assert.equal(r.batchStats["1"].mean.length, 4);
  assert.ok(r.loss > 0 && r.correct >= 0 && r.correct <= 6);
});

test("training learns the synthetic task and evaluate/embed agree", async () => {
  const result = await train({
    spec: convSpec,
    train: stripes(64, 2),
    test: stripes(32, 3),
    epochs: 4,
    batchSize: 16,
    lr: 0.02,
    seed: 1,
    progress: "none",
  });
  assert.equal(result.history.length, 4);
  assert.ok(result.final && result.final.accuracy >= 0.9, `accuracy ${result.final?.accuracy}`);
  const test = stripes(32, 3);
  const again = evaluate(convSpec, result.weights, test, { batchSize: 5 });
  assert.equal(again.count, 32);
  assert.ok(Math.abs(again.accuracy - (result.final?.accuracy ?? -1)) < 1e-9);
  const logits = embed(convSpec, result.weights, test.images, 32, { batchSize: 7 });
  assert.equal(logits.length, 64);
  let hits = 0;
  for (let i = 0; i < 32; i++)
    if ((logits[2 * i + 1] > logits[2 * i] ? 1 : 0) === test.labels[i]) hits++;
  assert.equal(hits / 32, again.accuracy);
});

test("resume after an interruption gives the same weights as one run", async () => {
  const common = {
    spec: bnSpec,
    train: stripes(40, 4),
    test: stripes(10, 5),
    epochs: 3,
    batchSize: 12,
    lr: 0.01,
    seed: 7,
    optimizer: "adam" as const,
    weightDecay: 1e-3,
    progress: "none" as const,
  };
  const whole = await train({ ...common, outDir: tempDir() });
  const dir = tempDir();
  const stop = new AbortController();
  const first = await train({
    ...common,
    outDir: dir,
    signal: stop.signal,
    onEpoch: () => stop.abort(),
  });
  assert.equal(first.epochsDone, 1);
  const ckpt = await loadCheckpoint(join(dir, "checkpoint.safetensors"));
  assert.equal(ckpt.epoch, 1);
  assert.deepEqual(ckpt.spec, bnSpec);
  assert.ok(Object.keys(ckpt.optimizer.slots).length > 0);
  const resumed = await train({ ...common, outDir: dir, resume: true });
  assert.equal(resumed.history.length, 3);
  for (const [name, w] of Object.entries(whole.weights)) {
    assert.deepEqual(resumed.weights[name].data, w.data, name);
  }
  assert.ok(
    whole.weights["1.movingMean"].data.some((v) => v !== 0),
    "moving mean updated",
  );
  const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
  assert.equal(metrics.epochs, 3);
  assert.equal(metrics.test.count, 10);
});

test("an abort mid-epoch drops that epoch and leaves the last whole epoch resumable", async () => {
  const common = {
    spec: bnSpec,
    train: stripes(40, 4),
    epochs: 3,
    batchSize: 12,
    lr: 0.01,
    seed: 7,
    progress: "none" as const,
  };
  const whole = await train({ ...common, outDir: tempDir() });
  const dir = tempDir();
  const stop = new AbortController();
  let steps = 0;
  // 4 steps per epoch: abort during the second epoch, after its second step.
  const countSteps = () => {
    if (++steps === 6) stop.abort();
  };
  const cut = await train({ ...common, outDir: dir, augment: countSteps, signal: stop.signal });
  assert.equal(steps, 6, "no step runs after the abort");
  assert.equal(cut.epochsDone, 1);
  assert.equal(cut.interrupted, true);
  assert.equal(cut.history.length, 1);
  assert.equal((await loadCheckpoint(join(dir, "checkpoint.safetensors"))).epoch, 1);
  const resumed = await train({ ...common, outDir: dir, resume: true, augment: countSteps });
  assert.equal(resumed.interrupted, false);
  assert.equal(resumed.epochsDone, 3);
  for (const [name, w] of Object.entries(whole.weights)) {
    assert.deepEqual(resumed.weights[name].data, w.data, name);
  }
  const aborted = new AbortController();
  aborted.abort();
  const none = await train({ ...common, signal: aborted.signal });
  assert.equal(none.epochsDone, 0);
  assert.equal(none.interrupted, true);
});

test("two worker threads give the one-thread weights (no batch norm)", async () => {
  const common = {
    spec: convSpec,
    train: stripes(30, 6),
    epochs: 2,
    batchSize: 10,
    lr: 0.01,
    seed: 3,
    optimizer: "sgd" as const,
    momentum: 0.9,
    progress: "none" as const,
  };
  const one = await train({ ...common, workers: 1 });
  const two = await train({ ...common, workers: 2 });
  for (const [name, w] of Object.entries(one.weights)) {
    const other = two.weights[name].data;
    for (let i = 0; i < w.data.length; i++) {
      assert.ok(
        Math.abs(w.data[i] - other[i]) < 1e-5,
        `${name}[${i}]: ${w.data[i]} vs ${other[i]}`,
      );
    }
  }
  assert.ok(Math.abs(one.history[1].loss - two.history[1].loss) < 1e-5);
});

test("shards, combination and schedules", () => {
  assert.deepEqual(shardSizes(10, 3), [4, 3, 3]);
  assert.deepEqual(shardSizes(1, 2), [1]);
  const r = (count: number, g: number, mean: number, variance: number) => ({
    loss: g,
    correct: count,
    count,
    grads: { w: new Float32Array([g]) },
    batchStats: { b: { mean: new Float32Array([mean]), variance: new Float32Array([variance]) } },
  });
  const c = combineResults([r(1, 1, 0, 0), r(3, 5, 2, 1)]);
  assert.equal(c.grads.w[0], 4);
  assert.equal(c.loss, 4);
  assert.equal(c.batchStats.b.mean[0], 1.5);
  assert.equal(c.batchStats.b.variance[0], 0.75 + 0.25 * 2.25 + 0.75 * 0.25);
  assert.equal(scheduledLr("cosine", 1, 0, 10), 1);
  assert.ok(Math.abs(scheduledLr("cosine", 1, 5, 10) - 0.5) < 1e-12);
  assert.equal(scheduledLr("constant", 0.3, 7, 10), 0.3);
  const a = epochOrder(20, 1, 0);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(a, epochOrder(20, 1, 0));
  assert.notDeepEqual(a, epochOrder(20, 1, 1));
});

test("SGD with momentum and Adam take the textbook first steps", () => {
  const w = new Float32Array([1, 2]);
  const sgd = new Optimizer({ kind: "sgd", momentum: 0.5, weightDecay: 0 });
  sgd.apply([{ name: "w", data: w, rank: 1 }], { w: new Float32Array([1, -1]) }, 0.1);
  sgd.apply([{ name: "w", data: w, rank: 1 }], { w: new Float32Array([1, -1]) }, 0.1);
  assert.ok(Math.abs(w[0] - (1 - 0.1 - 0.15)) < 1e-6);
  const v = new Float32Array([1]);
  const adam = new Optimizer({ kind: "adam", momentum: 0, weightDecay: 0 });
  adam.apply([{ name: "v", data: v, rank: 1 }], { v: new Float32Array([3]) }, 0.01);
  assert.ok(Math.abs(v[0] - 0.99) < 1e-6);
});

test("training data at twice the input size, resized per batch, trains like resized data", async () => {
  const big = stripes(32, 8);
  const doubled = new Float32Array(32 * 256);
  for (let n = 0; n < 32; n++) {
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        doubled[n * 256 + y * 16 + x] = big.images[n * 64 + (y >> 1) * 8 + (x >> 1)];
      }
    }
  }
  const common = { spec: convSpec, epochs: 1, batchSize: 8, lr: 0.02, seed: 3 } as const;
  const direct = await train({ ...common, train: big, progress: "none" });
  const resized = await train({
    ...common,
    train: { ...big, images: doubled, height: 16, width: 16 },
    resizeBatches: "area",
    progress: "none",
  });
  for (const [name, w] of Object.entries(direct.weights)) {
    const other = resized.weights[name].data;
    const worst = w.data.reduce((m, v, i) => Math.max(m, Math.abs(v - other[i])), 0);
    assert.ok(worst < 1e-5, `${name}: ${worst}`);
  }
  await assert.rejects(
    train({
      ...common,
      train: { ...big, images: doubled, height: 16, width: 16 },
      progress: "none",
    }),
    /16×16×1, tiny-conv takes 8×8×1/,
  );
});
