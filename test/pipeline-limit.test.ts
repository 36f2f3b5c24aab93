// scripts/pipeline.ts --limit: every stage (training, distillation, evaluation) runs on the same
// first N images, with fan-ins derived from their class sizes; a limit that starves a class stops
// before any work. (The first run trains with jitter and no --match, so the run hints at --match.)
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../src/data/load.js";
import { deriveFanIns } from "../src/distill/fan-ins.js";
import { readReferenceSet } from "../src/references/reference-set.js";
import { pipeline, pipelineRefusal } from "./pipeline-run.js";
import { writeFolder } from "./synthetic-shapes.js";

test("--limit N trains, distils and scores baselines on the first N images; --test-limit scores on the first test images", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-pipeline-limit-"));
  try {
    const out = join(dir, "run");
    const { stdout, stderr } = await pipeline(
      ...["--data", "mnist", "--out", out, "--limit", "300", "--test-limit", "100"],
      ...["--depth", "18", "--width", "2", "--epochs", "1", "--batch", "32"],
      ...["--distill-config", "quick", "--augment", "affine"],
    );
    // A jittered embedder without --match: the run says how to fit the references to it.
    assert.match(stderr, /^pipeline: .*--augment affine .* --match 3,4,5 fits them/m);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
    const labels = (await loadDataset("mnist", "train")).labels.subarray(0, 300);
    const sizes = Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);
    assert.equal(summary.fanIns, deriveFanIns(sizes, 5).join(","));
    const metrics = JSON.parse(await readFile(join(out, "embedder", "metrics.json"), "utf8"));
    assert.equal(metrics.config.trainCount, 300);
    const set = await readReferenceSet(join(out, "distill", "references.safetensors"));
    assert.equal((set.provenance.data as { count: number }).count, 300);
    const evaluation = JSON.parse(await readFile(join(out, "evaluation.json"), "utf8"));
    assert.equal(evaluation.testImages, 100);
    assert.equal(evaluation.classMean.trainingImages, 300);
    assert.deepEqual(Object.keys(summary.accuracy), ["L1", "L2", "L3", "L4", "L5"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a --limit that leaves a class without images stops with one line before training", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-pipeline-limit-bad-"));
  try {
    await writeFolder(join(dir, "shapes"), 10);
    const out = join(dir, "run");
    const failed = await pipelineRefusal(
      ...["--data", `folder:${join(dir, "shapes")}`, "--out", out, "--limit", "10"],
    );
    assert.equal(failed.code, 2);
    assert.match(
      failed.stderr,
      /^pipeline: --limit 10 leaves class "\w+" 0 training images \(the first N are taken, and a folder's are in class order\); raise it or leave it out\n$/m,
    );
    await assert.rejects(readFile(join(out, "embedder", "metrics.json")), "nothing trained");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
