// scripts/pipeline.ts with the shipped model's recipe: the embedder trained with affine jitter on
// its engine's threads, then --match fits the chosen levels' references to it
// (scripts/match-references.ts) between distillation and evaluation, and the matched set is the
// one evaluated, exported and published; a level the distillation will not have stops the run
// before any work.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readManifest } from "../src/models/manifest.js";
import { readReferenceSet } from "../src/references/reference-set.js";
import { pipeline, pipelineRefusal } from "./pipeline-run.js";

test("--augment affine --workers 2 --match 4,5: a jittered embedder on 2 threads; evaluation, export and publish use the matched set", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-pipeline-match-"));
  try {
    const out = join(dir, "run");
    const models = join(dir, "models");
    const { stdout, stderr } = await pipeline(
      ...["--data", "mnist", "--out", out, "--limit", "300", "--test-limit", "100"],
      ...["--depth", "18", "--width", "2", "--epochs", "1", "--batch", "32"],
      ...["--distill-config", "quick", "--match", "4,5", "--publish", models],
      ...["--augment", "affine", "--jitter", "0.1,5,0.05", "--workers", "2"],
      ...["--progress", "lines"],
    );
    const summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
    assert.deepEqual(summary.matched, [4, 5]);
    const { config } = JSON.parse(await readFile(join(out, "embedder", "metrics.json"), "utf8"));
    // --workers is the ort engine's intra-op threads for training (auto takes ort for ResNets).
    assert.deepEqual([config.engine, config.threads], ["ort", 2]);
    assert.deepEqual(config.augment, { kind: "affine", shift: 0.1, rotate: 5, scale: 0.05 });

    const distilled = await readReferenceSet(join(out, "distill", "references.safetensors"));
    const matchedFile = join(out, "match", "references.safetensors");
    const matched = await readReferenceSet(matchedFile);
    assert.equal(matched.version.startsWith(`${distilled.version}-em`), true, matched.version);
    for (const [i, level] of matched.levels.entries()) {
      const before = distilled.levels[i];
      assert.deepEqual(level.labels, before.labels);
      if (level.level >= 4) assert.notDeepEqual(level.images, before.images, `L${level.level}`);
      else assert.deepEqual(level.images, before.images, `L${level.level} copied`);
    }
    const record = matched.provenance.embeddingMatch as { levels: number[] };
    assert.deepEqual(record.levels, [4, 5]);

    // The matched set's evaluation and stage models sit beside it, apart from a plain run's.
    const evaluation = JSON.parse(await readFile(join(out, "match", "evaluation.json"), "utf8"));
    assert.deepEqual(evaluation.references, { file: matchedFile, version: matched.version });
    const published = await readManifest(models);
    assert.equal(published.references?.version, matched.version);

    // The matching stage is one of the run's stages, its events drawn in the one display.
    assert.match(stderr, /^ {2}\[3\/6\] match levels 4,5 to the embedder: [\d.]+ s/m);
    assert.doesNotMatch(stderr, /"event":"progress"/);
    assert.doesNotMatch(stderr, /--match 3,4,5 fits them/, "no hint when matching");
    assert.match(stderr, /^match-references: .*level 5: mean cosine to its target/m);
    assert.equal(
      (await readManifest(join(out, "match", "models"))).references?.version,
      matched.version,
    );

    // The same run asked for other levels would skip the matching stage: refused up front.
    const again = await pipelineRefusal(
      ...["--data", "mnist", "--out", out, "--limit", "300", "--match", "3,4,5"],
    );
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /^pipeline: \S+match\/references\.safetensors holds levels 4,5 matched, not --match 3,4,5: give another --out or remove \S+match\n$/m,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("--match with a level the distillation will not have stops with one line before training", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-pipeline-match-bad-"));
  try {
    const out = join(dir, "run");
    const failed = await pipelineRefusal(
      ...["--data", "mnist", "--out", out, "--limit", "300", "--levels", "3", "--match", "3,4"],
    );
    assert.equal(failed.code, 2);
    assert.match(
      failed.stderr,
      /^pipeline: --match 3,4: the distillation has 3 levels, so no level 4\n$/m,
    );
    await assert.rejects(readFile(join(out, "embedder", "metrics.json")), "nothing trained");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
