// Embedders on either training engine: train() with an ArcFace head on ORT resumes to the same
// weights, ORT and tfjs checkpoints hold the same tensors (values equal to float rounding), and
// train-embedder's --engine picks, reports and checks its engine.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import type { Dataset } from "../src/data/dataset.js";
import { initBackend } from "../src/nn/backend.js";
import { loadCheckpoint } from "../src/train/checkpoint.js";
import { embedderHead } from "../src/train/heads.js";
import type { TrainConfig } from "../src/train/train-config.js";
import { train } from "../src/train/trainer.js";
import { rng } from "../src/util/random.js";
import { tinyEmbedderSpec } from "./ort-grad-helpers.js";
import { assertSameTensors, wholeAndResumed } from "./train-fixture.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

const spec = tinyEmbedderSpec(0.2, 0.3);

/** 8×8 images whose class k lights a 2×2 square at a class-specific place (plus noise). */
function squares(count: number, seed: number): Dataset {
  const random = rng(seed);
  const images = Float32Array.from({ length: count * 64 }, () => 0.2 * random());
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 4);
  labels.forEach((label, n) => {
    const [y, x] = [2 * (label >> 1) + 2, 2 * (label & 1) + 2];
    for (const [dy, dx] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]) {
      images[n * 64 + (y + dy) * 8 + x + dx] = 1;
    }
  });
  return {
    name: "squares",
    images,
    labels,
    count,
    height: 8,
    width: 8,
    channels: 1,
    classes: ["a", "b", "c", "d"],
  };
}

const arcface = embedderHead({
  loss: "arcface",
  embeddingSize: 6,
  classes: 4,
  scale: 8,
  margin: 0.3,
});

test("train() with the ORT engine and an ArcFace head learns and resumes to the same weights", async () => {
  const { whole, resumed } = await wholeAndResumed({
    spec,
    head: arcface,
    train: squares(64, 1),
    epochs: 3,
    batchSize: 16,
    lr: 0.01,
    engine: "ort",
    progress: "none",
  });
  assert.ok(whole.history[2].loss < whole.history[0].loss, "loss falls");
  assertSameTensors(whole.weights, resumed.weights);
  assertSameTensors(whole.headWeights, resumed.headWeights, "head.");
});

test("ORT and tfjs checkpoints of the same embedder run hold the same tensors, equal to float rounding", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cgnn-embedder-engines-"));
  try {
    const head = embedderHead({ loss: "ce", embeddingSize: 6, classes: 4 });
    const common: TrainConfig = {
      spec,
      head,
      train: squares(32, 2),
      epochs: 1,
      batchSize: 16,
      lr: 0.001,
      progress: "none",
    };
    await train({ ...common, engine: "ort", outDir: join(dir, "ort") });
    await train({ ...common, engine: "tfjs", outDir: join(dir, "tfjs") });
    const ort = await loadCheckpoint(join(dir, "ort", "checkpoint.safetensors"));
    const tfjs = await loadCheckpoint(join(dir, "tfjs", "checkpoint.safetensors"));
    assert.deepEqual(ort.spec, tfjs.spec);
    assert.deepEqual(ort.config, tfjs.config);
    const keys = (c: typeof ort) => [
      ...Object.keys(c.weights).sort(),
      ...Object.keys(c.headWeights).sort(),
    ];
    assert.deepEqual(keys(ort), keys(tfjs));
    const all = (c: typeof ort) => ({
      ...c.weights,
      ...Object.fromEntries(Object.entries(c.headWeights).map(([k, v]) => [`head.${k}`, v])),
    });
    const [a, b] = [all(ort), all(tfjs)];
    for (const [name, w] of Object.entries(b)) {
      assert.deepEqual(a[name].shape, w.shape, name);
      for (let i = 0; i < w.data.length; i++) {
        assert.ok(Math.abs(a[name].data[i] - w.data[i]) < 1e-4, `${name}[${i}]`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const script = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "scripts/train-embedder.ts", ...args], {
    encoding: "utf8",
  });

test("train-embedder --engine auto takes ort, says so and records it; engine flags are checked", () => {
  const dir = mkdtempSync(join(tmpdir(), "cgnn-embedder-auto-"));
  try {
    const out = join(dir, "run");
    const tiny = ["--width", "2", "--limit", "32", "--test-limit", "16", "--epochs", "1"];
    const r = script(
      ...tiny,
      "--batch",
      "16",
      "--loss",
      "arcface",
      "--progress",
      "none",
      "--out",
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /engine ort \(auto\), 1 intra-op thread\(s\)/);
    assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}").engine, "ort");
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    assert.equal(metrics.config.engine, "ort");
    assert.equal(metrics.config.threads, 1);
    const wrong = script(...tiny, "--engine", "tfjs", "--threads", "2", "--out", join(dir, "x"));
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /--threads 2 sets the ort engine's intra-op threads/);
    const workers = script(...tiny, "--engine", "ort", "--workers", "2", "--out", join(dir, "y"));
    assert.equal(workers.status, 2);
    assert.match(workers.stderr, /--workers 2 sets the tfjs engine's worker threads/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
