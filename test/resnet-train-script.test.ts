import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadEmbedder } from "../src/eval/embedder.js";

const run = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "scripts/train-embedder.ts", ...args], {
    encoding: "utf8",
  });

test("train-embedder trains a tiny ArcFace ResNet18 and writes a loadable checkpoint and metrics", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-embedder-"));
  try {
    const out = join(dir, "run");
    const r = run(
      ...["--width", "2", "--limit", "64", "--test-limit", "32", "--epochs", "1", "--batch", "32"],
      ...[
        "--loss",
        "arcface",
        "--scale",
        "16",
        "--margin",
        "0.3",
        "--progress",
        "none",
        "--out",
        out,
      ],
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    assert.equal(summary.model, "resnet18-w2");
    assert.equal(summary.loss, "arcface");
    assert.equal(summary.epochs, 1);
    assert.ok(summary.testAccuracy >= 0 && summary.testAccuracy <= 1);
    const metrics = JSON.parse(await readFile(join(out, "metrics.json"), "utf8"));
    assert.equal(metrics.config.margin, 0.3);
    assert.equal(metrics.test.count, 32);
    const embedder = await loadEmbedder(join(out, "checkpoint.safetensors"));
    assert.equal(embedder.dim, 16);
    assert.equal(embedder.epoch, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("train-embedder ends bad flags with one line and exit code 2", () => {
  const r = run("--depth", "34");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^train-embedder: --depth must be one of 18, 50, got "34"\n$/);
});

test("train-embedder --augment affine jitters the training images and records the jitter", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-embedder-aug-"));
  try {
    const common = ["--width", "2", "--limit", "64", "--test-limit", "16", "--epochs", "1"];
    const tail = ["--batch", "32", "--seed", "3", "--progress", "none", "--engine", "tfjs"];
    const plain = run(...common, ...tail, "--out", join(dir, "plain"));
    assert.equal(plain.status, 0, plain.stderr);
    const jittered = run(
      ...common,
      ...tail,
      ...["--augment", "affine", "--jitter", "0.1,15,0.1", "--out", join(dir, "jittered")],
    );
    assert.equal(jittered.status, 0, jittered.stderr);
    const metrics = JSON.parse(await readFile(join(dir, "jittered", "metrics.json"), "utf8"));
    assert.deepEqual(metrics.config.augment, {
      kind: "affine",
      shift: 0.1,
      rotate: 15,
      scale: 0.1,
    });
    const plainMetrics = JSON.parse(await readFile(join(dir, "plain", "metrics.json"), "utf8"));
    assert.equal(plainMetrics.config.augment, "none");
    // Same seed, same data order and initial weights: only the jitter can move the weights apart.
    const a = await loadEmbedder(join(dir, "plain", "checkpoint.safetensors"));
    const b = await loadEmbedder(join(dir, "jittered", "checkpoint.safetensors"));
    const name = Object.keys(a.weights)[0];
    assert.notDeepEqual(a.weights[name].data, b.weights[name].data);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("train-embedder refuses a --jitter that is not three numbers", () => {
  const r = run("--augment", "affine", "--jitter", "0.1,10");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--jitter/);
});
