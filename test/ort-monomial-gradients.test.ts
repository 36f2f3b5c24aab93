// The ORT training graph's `monomials` layer (the direct Taylor model, Eq. 3) against the tfjs
// reference step: the order-3 model's gradients, and the input gradient through the layer
// (a dense layer before it trains), each to 1e-4, also across several forward chunks per
// degree; no backward through the layer when its input needs none; train() on ORT against the
// dedicated tfjs trainer, and taylor-direct's engine choice.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { trainDirect } from "../src/analysis/direct-train.js";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { initBackend } from "../src/nn/backend.js";
import { type ModelSpec, modelParams } from "../src/nn/spec.js";
import { taylorDirectSpec } from "../src/nn/taylor-direct.js";
import { resolveEngine } from "../src/train/create-engine.js";
import { buildGradGraph } from "../src/train/ort/grad-graph.js";
import { MONOMIAL_CHUNK } from "../src/train/ort/monomial-grads.js";
import type { StepModel } from "../src/train/step.js";
import { train } from "../src/train/trainer.js";
import { rng } from "../src/util/random.js";
import { batchFor, compareStepWithTfjs, weightsFor } from "./ort-grad-helpers.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

async function compare(spec: ModelSpec, classes: number, seed: number) {
  const trainable = modelParams(spec)
    .filter((p) => p.trainable)
    .map((p) => p.name);
  const model: StepModel = { spec, classes, trainable };
  await compareStepWithTfjs(model, weightsFor(spec, seed), batchFor(spec, 6, classes, seed + 7));
}

/** 2×2×2 input → dense(`units`) → monomials of order 4 → dense(3): gradients flow into the monomials. */
function denseMonomials(name: string, units: number): ModelSpec {
  return {
    name,
    input: [2, 2, 2],
    output: "logits",
    layers: [
      { kind: "flatten" },
      { kind: "dense", units },
      { kind: "monomials", order: 4 },
      { kind: "dense", units: 3 },
    ],
  };
}

test("ORT gradients match tfjs on the order-3 direct Taylor model of 3×3 images", async () => {
  await compare(taylorDirectSpec(3, [3, 3, 1], { mean: [0.3], std: [0.4] }, 4), 4, 3);
});

test("ORT gradients match tfjs through monomials (order 4) to a dense layer before them", async () => {
  await compare(denseMonomials("dense-monomials", 4), 3, 5);
});

test("ORT gradients match tfjs on order 4 of 5×5 images, several forward chunks per degree", async () => {
  // 25 variables: 2 925 cubic and 20 475 quartic terms, i.e. 3 and 20 chunks (the last ones short).
  assert.ok(20475 > 19 * MONOMIAL_CHUNK && 2925 > 2 * MONOMIAL_CHUNK);
  await compare(taylorDirectSpec(4, [5, 5, 1], { mean: [0.3], std: [0.4] }, 3), 3, 11);
});

test("ORT gradients match tfjs through chunked monomials (order 4 of 16) to a dense layer before them", async () => {
  await compare(denseMonomials("dense-monomials-chunked", 16), 3, 13);
});

test("ORT gradients match tfjs with a flatten between the chunked monomials and the dense", async () => {
  // Order 3 of 25 variables: 2 925 cubic terms, 3 chunks joined batch-major.
  const direct = taylorDirectSpec(3, [5, 5, 1], { mean: [0.3], std: [0.4] }, 3);
  const spec: ModelSpec = {
    ...direct,
    layers: [...direct.layers.slice(0, 3), { kind: "flatten" }, ...direct.layers.slice(3)],
  };
  assert.ok(2925 > 2 * MONOMIAL_CHUNK);
  await compare(spec, 3, 17);
});

test("the direct model's ORT graph builds no monomials backward (its input needs no gradient)", () => {
  const direct = taylorDirectSpec(3, [3, 3, 1]);
  const trainable = modelParams(direct).map((p) => p.name);
  const bytes = Buffer.from(buildGradGraph(direct, 10, trainable).bytes);
  assert.equal(bytes.includes("ScatterElements"), false);
  const throughDense: ModelSpec = {
    ...direct,
    layers: [{ kind: "flatten" }, { kind: "dense", units: 4 }, ...direct.layers.slice(2)],
  };
  const all = modelParams(throughDense).map((p) => p.name);
  assert.equal(
    Buffer.from(buildGradGraph(throughDense, 10, all).bytes).includes("ScatterElements"),
    true,
  );
});

test("auto trains the direct Taylor model on ORT", () => {
  assert.equal(resolveEngine("auto", { spec: taylorDirectSpec(4) }), "ort");
});

test("train() on ORT reaches the dedicated tfjs trainer's weights on the direct model", async () => {
  const random = rng(4);
  const count = 48;
  const data = {
    name: "synthetic7",
    images: Float32Array.from({ length: count * 49 }, () => random()),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    height: 7,
    width: 7,
    channels: 1,
    classes: Array.from({ length: 10 }, (_, k) => `${k}`),
  };
  const spec = taylorDirectSpec(2);
  const options = { epochs: 3, batchSize: 16, lr: 0.01, seed: 2 };
  const direct = await trainDirect(data, { spec, order: 2, norm: MNIST_NORMALIZATION, ...options });
  const ort = await train({ spec, train: data, ...options, engine: "ort", progress: "none" });
  for (const name of ["3.kernel", "3.bias"]) {
    const [a, b] = [direct.weights[name].data, ort.weights[name].data];
    let scale = 0;
    let diff = 0;
    a.forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      diff = Math.max(diff, Math.abs(v - b[i]));
    });
    assert.ok(diff < 1e-3 * scale, `${name}: ${diff} vs ${scale}`);
  }
  ort.history.forEach((h, i) => {
    assert.ok(Math.abs(h.loss - direct.history[i].loss) < 1e-3);
  });
});

test("taylor-direct takes ORT by default, says so, and writes its curves", () => {
  const dir = mkdtempSync(join(tmpdir(), "cgnn-direct-ort-"));
  try {
    const out = join(dir, "run");
    const r = spawnSync(
      process.execPath,
      [
        ...["--import", "tsx", "scripts/taylor-direct.ts", "--order", "2", "--limit", "64"],
        ...["--test-limit", "32", "--epochs", "1", "--no-analysis", "--progress", "none"],
        ...["--out", out],
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /engine ort \(auto\), 1 intra-op thread\(s\)/);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    assert.equal(summary.engine, "ort");
    assert.equal(summary.testCount, 32);
    assert.ok(summary.testAccuracy >= 0 && summary.testAccuracy <= 1);
    assert.equal(readFileSync(join(out, "epochs.jsonl"), "utf8").trim().split("\n").length, 1);
    assert.ok(existsSync(join(out, "curves.png")));
    assert.ok(existsSync(join(out, "checkpoint.safetensors")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("taylor-direct refuses the ort-only flags on tfjs and --augment off mnist7, before loading data", () => {
  const dir = mkdtempSync(join(tmpdir(), "cgnn-direct-flags-"));
  const run = (...flags: string[]) =>
    spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/taylor-direct.ts",
        "--order",
        "2",
        "--out",
        join(dir, "o"),
        ...flags,
      ],
      { encoding: "utf8" },
    );
  try {
    const tfjs = run("--engine", "tfjs", "--augment", "affine", "--weight-decay", "0.01");
    assert.equal(tfjs.status, 2, tfjs.stderr);
    assert.match(tfjs.stderr, /--weight-decay, --augment need --engine ort/);
    const fashion = run("--data", "fashion", "--augment", "affine");
    assert.equal(fashion.status, 2, fashion.stderr);
    assert.match(fashion.stderr, /--augment affine .* needs --data mnist7, got fashion/);
    assert.equal(existsSync(join(dir, "o")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("taylor-direct --augment affine trains on jittered 28×28 digits resized per batch, tested each epoch", () => {
  const dir = mkdtempSync(join(tmpdir(), "cgnn-direct-augment-"));
  try {
    const out = join(dir, "run");
    const r = spawnSync(
      process.execPath,
      [
        ...["--import", "tsx", "scripts/taylor-direct.ts", "--order", "2", "--limit", "64"],
        ...["--test-limit", "32", "--epochs", "1", "--no-analysis", "--progress", "none"],
        ...["--augment", "affine", "--weight-decay", "0.01", "--out", out],
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    assert.equal(summary.data, "mnist");
    assert.equal(summary.trainCount, 64);
    const epoch = JSON.parse(readFileSync(join(out, "epochs.jsonl"), "utf8").trim());
    assert.ok(epoch.test.accuracy >= 0 && epoch.test.accuracy <= 1);
    // Two evaluation paths (tfjs forward, typed-array kernels) on 32 images: at most one apart.
    assert.ok(Math.abs(epoch.test.accuracy - summary.testAccuracy) <= 1 / 32);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
