import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { type DistillConfig, DistillInterrupted } from "../src/distill/distill-config.js";
import { levelLambda, levelLr } from "../src/distill/level-lambda.js";
import { runDistillation } from "../src/distill/pipeline.js";
import { initBackend } from "../src/nn/backend.js";
import { toyData } from "./distill-helpers.js";

before(() => initBackend("wasm", { quiet: true }));

const data = toyData(12, 5);
const config: DistillConfig = {
  fanIns: [2, 3, 2],
  seed: 11,
  iterations: 3,
  width: 4,
  lr: 1,
  momentum: 0.5,
  lambda: 19,
  mean: [0.1307],
  std: [0.3081],
};

test("levels have the planned sizes and labels; 1 and 2 workers give the same images", async () => {
  const inline = await runDistillation(data, config, { workers: 1 });
  assert.deepEqual(
    inline.levels.map((l) => [l.level, l.count]),
    [
      [1, 18],
      [2, 6],
      [3, 3],
    ],
  );
  assert.deepEqual(Array.from(inline.levels[2].labels), [0, 1, 2]);
  assert.ok(inline.levels.every((l) => l.images.every((p) => p >= 0 && p <= 1)));
  const two = await runDistillation(data, config, { workers: 2 });
  two.levels.forEach((l, i) => {
    assert.deepEqual(l.images, inline.levels[i].images);
  });
});

test("a run stopped midway resumes from its checkpoint to the same references", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-distill-"));
  try {
    const full = await runDistillation(data, config, { workers: 0 });
    const fullDifferentSeed = await runDistillation(data, { ...config, seed: 12 }, { workers: 0 });
    assert.notDeepEqual(fullDifferentSeed.levels[2].images, full.levels[2].images);
    for (const stopAfter of [4, 8]) {
      const checkpoint = join(dir, `ckpt-${stopAfter}.safetensors`);
      const stop = new AbortController();
      await assert.rejects(
        runDistillation(data, config, {
          workers: 0,
          checkpoint,
          checkpointEvery: 1,
          signal: stop.signal,
          onProgress: (p) => {
            if (p.doneHere >= stopAfter) stop.abort();
          },
        }),
        DistillInterrupted,
      );
      assert.ok((await stat(checkpoint)).size > 0);
      const resumed = await runDistillation(data, config, { workers: 0, checkpoint, resume: true });
      assert.ok(resumed.restored >= stopAfter && resumed.restored < 9, `${resumed.restored}`);
      resumed.levels.forEach((l, i) => {
        assert.deepEqual(l.images, full.levels[i].images);
      });
    }
    const other = join(dir, "ckpt-4.safetensors");
    await assert.rejects(
      runDistillation(
        data,
        { ...config, seed: 12 },
        { workers: 0, checkpoint: other, resume: true },
      ),
      /belongs to another run/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("hierarchy-scoped λ runs every level at the per-level λ and step; level scope at λ", async () => {
  const hierarchy = await runDistillation(
    data,
    { ...config, lambdaScope: "hierarchy" },
    {
      workers: 0,
    },
  );
  const perLevel = levelLambda(19, 3, 3, "hierarchy");
  assert.ok(perLevel > 19);
  for (const s of hierarchy.stats) {
    assert.equal(s.lambda, perLevel);
    assert.equal(s.lr, levelLr(1, 19, perLevel, 3));
  }
  const literal = await runDistillation(data, config, { workers: 0 });
  assert.ok(literal.stats.every((s) => s.lambda === 19 && s.lr === 1));
  assert.notDeepEqual(hierarchy.levels[0].images, literal.levels[0].images);
});
