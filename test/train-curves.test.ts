// Learning curves written as a run goes: epochs.jsonl gains a line per finished epoch (kept
// across resume) and curves.png is a real PNG of loss and accuracy, train and test.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import sharp from "sharp";
import { initBackend } from "../src/nn/backend.js";
import { taylorNetSpec } from "../src/nn/taylornet.js";
import { CURVES_FILE, curvesSvg, EPOCHS_FILE } from "../src/train/curves.js";
import type { TrainConfig } from "../src/train/train-config.js";
import { train } from "../src/train/trainer.js";
import { litPixels } from "./train-fixture.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

const readLines = (dir: string) =>
  readFileSync(join(dir, EPOCHS_FILE), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

test("train() writes epochs.jsonl and curves.png after every epoch, across resume", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cgnn-curves-"));
  try {
    const config: TrainConfig = {
      spec: taylorNetSpec("mnist7", { width: 2 }),
      train: litPixels(40, 1),
      test: litPixels(20, 2),
      epochs: 3,
      batchSize: 20,
      lr: 0.01,
      engine: "ort",
      progress: "none",
      outDir: dir,
    };
    const stop = new AbortController();
    let seen = 0;
    await train({
      ...config,
      signal: stop.signal,
      onEpoch: () => {
        seen = readLines(dir).length;
        stop.abort();
      },
    });
    assert.equal(seen, 1, "the epoch's line is there when onEpoch runs");
    assert.deepEqual(
      readLines(dir).map((m) => m.epoch),
      [1],
    );
    const whole = await train({ ...config, resume: true });
    const lines = readLines(dir);
    assert.deepEqual(
      lines.map((m) => m.epoch),
      [1, 2, 3],
    );
    assert.deepEqual(lines[2], JSON.parse(JSON.stringify(whole.history[2])));
    assert.ok(lines.every((m) => m.test.count === 20 && m.loss > 0));
    const meta = await sharp(readFileSync(join(dir, CURVES_FILE))).metadata();
    assert.equal(meta.format, "png");
    assert.equal(meta.width, 720);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("curvesSvg draws train and test lines, and train alone when nothing was tested", () => {
  const epoch = (e: number, withTest: boolean) => ({
    epoch: e,
    loss: 1 / e,
    accuracy: 0.5 + e / 10,
    lr: 0.01,
    seconds: 1,
    imagesPerSec: 100,
    ...(withTest ? { test: { accuracy: 0.4 + e / 10, loss: 1.2 / e, count: 10 } } : {}),
  });
  const both = curvesSvg([epoch(1, true), epoch(2, true)], "a <run>");
  assert.equal((both.match(/<polyline/g) ?? []).length, 4);
  assert.match(both, /a &#60;run&#62;/);
  const trainOnly = curvesSvg([epoch(1, false)], "x");
  assert.equal((trainOnly.match(/<polyline/g) ?? []).length, 2);
  assert.doesNotMatch(trainOnly, /NaN|Infinity/);
});
