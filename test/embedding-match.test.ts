import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { encodeIdx } from "../src/data/idx.js";
import { descendantTargets, matchEmbeddings } from "../src/distill/embedding-match.js";
import { planDistillation } from "../src/distill/plan.js";
import { loadEmbedder } from "../src/eval/embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { resnetSpec } from "../src/nn/resnet.js";
import { initWeights } from "../src/nn/weights.js";
import {
  type ReferenceSet,
  readReferenceSet,
  writeReferenceSet,
} from "../src/references/reference-set.js";
import { parseProgressLine } from "../src/util/progress-event.js";
import { rng } from "../src/util/random.js";
import { saveFreshCheckpoint } from "./checkpoint-fixture.js";

const spec = resnetSpec({ depth: 18, width: 2, input: [8, 8, 1], mean: [0.5], std: [0.5] });
const CLASSES = 2;
const FAN_INS = [3, 2, 2]; // 4 level-1 subsets of ≈ 3 images per class, then 2, then 1
const COUNT = 24;
let dir: string;
let checkpoint: string;

const labels = Uint8Array.from({ length: COUNT }, (_, i) => i % CLASSES);

function noise(count: number, seed: number): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: count * 64 }, () => random());
}

before(async () => {
  await initBackend("wasm", { quiet: true });
  dir = await mkdtemp(join(tmpdir(), "cgnn-match-"));
  checkpoint = join(dir, "embedder.safetensors");
  await saveFreshCheckpoint(checkpoint, spec, initWeights(spec, 4));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const unit = (v: number[]) => {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};

test("descendantTargets: each output's target is the mean direction of the real images under it", () => {
  const plan = planDistillation(labels, CLASSES, FAN_INS, 5);
  const dim = 3;
  const random = rng(9);
  const embeddings = Float32Array.from({ length: COUNT * dim }, () => random() - 0.3);
  const targets = descendantTargets(plan, embeddings, dim);
  assert.deepEqual(
    targets.map((t) => t.length / dim),
    [4 * CLASSES, 2 * CLASSES, CLASSES],
  );
  const row = (i: number) => unit([...embeddings.subarray(i * dim, (i + 1) * dim)]);
  // Level 1, subset 2, class 1: its members' unit embeddings, summed, normalised.
  const members = plan.levels[0].members[2][1];
  const sum = [0, 0, 0];
  for (const m of members) {
    for (const [k, v] of row(m).entries()) sum[k] += v;
  }
  const l1 = [...targets[0].subarray((2 * CLASSES + 1) * dim, (2 * CLASSES + 2) * dim)];
  for (const [k, v] of unit(sum).entries()) assert.ok(Math.abs(v - l1[k]) < 1e-6);
  // The top level: every real image of the class, whatever the tree in between.
  for (let c = 0; c < CLASSES; c++) {
    const all = [0, 0, 0];
    for (let i = c; i < COUNT; i += CLASSES) {
      for (const [k, v] of row(i).entries()) all[k] += v;
    }
    const top = [...targets[2].subarray(c * dim, (c + 1) * dim)];
    for (const [k, v] of unit(all).entries()) assert.ok(Math.abs(v - top[k]) < 1e-5, `class ${c}`);
  }
});

test("matchEmbeddings moves each image's embedding towards its target, keeps pixels in [0, 1], and does not depend on the batch", () => {
  const weights = initWeights(spec, 4);
  const images = noise(5, 2);
  const random = rng(3);
  const targets = new Float32Array(5 * 16);
  for (let i = 0; i < 5; i++) {
    const t = unit(Array.from({ length: 16 }, () => random() - 0.5));
    targets.set(t, i * 16);
  }
  const common = { spec, weights, images, count: 5, targets, steps: 30, lr: 0.05 };
  const seen: number[] = [];
  const whole = matchEmbeddings({ ...common, batch: 5, onBatch: (done) => seen.push(done) });
  const parts = matchEmbeddings({ ...common, batch: 2 });
  assert.deepEqual(seen, [5]);
  assert.ok(whole.cosineAfter > whole.cosineBefore + 0.1, JSON.stringify(whole));
  assert.ok(whole.images.every((v) => v >= 0 && v <= 1));
  assert.notDeepEqual(whole.images, images);
  assert.deepEqual(images, noise(5, 2), "the input images are not modified");
  const gap = whole.images.reduce((m, v, i) => Math.max(m, Math.abs(v - parts.images[i])), 0);
  assert.ok(gap < 1e-3, `batch 5 and batch 2 differ by ${gap}`);
});

/** An IDX folder of COUNT noise images and a reference set "distilled" from it by the plan. */
async function fixture(): Promise<{ data: string; references: string }> {
  const data = join(dir, "idx");
  await mkdir(data, { recursive: true });
  const pixels = Uint8Array.from(noise(COUNT, 1), (v) => Math.round(v * 255));
  await writeFile(join(data, "train-images-idx3-ubyte"), encodeIdx([COUNT, 8, 8], pixels));
  await writeFile(join(data, "train-labels-idx1-ubyte"), encodeIdx([COUNT], labels));
  await writeFile(join(data, "labels.txt"), "a\nb\n");
  const plan = planDistillation(labels, CLASSES, FAN_INS, 5);
  const set: ReferenceSet = {
    version: "tiny",
    classes: ["a", "b"],
    height: 8,
    width: 8,
    channels: 1,
    provenance: {
      data: { name: `idx:${data}`, split: "train", count: COUNT, limit: null },
      config: { fanIns: FAN_INS, seed: 5 },
    },
    levels: plan.levels.map((l, i) => {
      const count = l.subsets * CLASSES;
      const labelsOf = Uint8Array.from({ length: count }, (_, o) => o % CLASSES);
      return { level: l.level, images: noise(count, 20 + i), labels: labelsOf, count };
    }),
  };
  const references = join(dir, "refs.safetensors");
  await writeReferenceSet(references, set);
  return { data, references };
}

const script = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "scripts/match-references.ts", ...args], {
    encoding: "utf8",
  });

test("match-references.ts matches the chosen levels, copies the rest, records how, and reports its progress", async () => {
  const { references } = await fixture();
  const out = join(dir, "matched.safetensors");
  const r = script(
    ...["--references", references, "--embedder", checkpoint, "--levels", "2,3"],
    ...["--steps", "10", "--lr", "0.05", "--threads", "1", "--out", out, "--progress", "json"],
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /level 3: mean cosine to its target/);
  const before = await readReferenceSet(references);
  // One count over both levels' references, to the last one.
  const events = r.stderr.split("\n").flatMap((line) => parseProgressLine(line) ?? []);
  const total = before.levels[1].count + before.levels[2].count;
  assert.ok(events.length >= 2, r.stderr);
  for (const e of events)
    assert.deepEqual([e.stage, e.unit, e.total], ["match", "references", total]);
  assert.equal(events.at(-1)?.done, total);
  const matched = await readReferenceSet(out);
  assert.match(matched.version, /^tiny-em[0-9a-f]{8}$/);
  assert.deepEqual(matched.levels[0].images, before.levels[0].images, "level 1 copied");
  for (const i of [1, 2]) {
    assert.deepEqual(matched.levels[i].labels, before.levels[i].labels);
    assert.notDeepEqual(matched.levels[i].images, before.levels[i].images);
  }
  const record = matched.provenance.embeddingMatch as {
    cosine: Record<string, { before: number; after: number }>;
    embedder: { model: string };
  };
  assert.equal(record.embedder.model, (await loadEmbedder(checkpoint)).spec.name);
  for (const l of ["2", "3"]) assert.ok(record.cosine[l].after > record.cosine[l].before);
  // Another choice of levels makes another set, and so another version.
  const onlyThree = join(dir, "matched-3.safetensors");
  const again = script(
    ...["--references", references, "--embedder", checkpoint, "--levels", "3"],
    ...["--steps", "10", "--lr", "0.05", "--threads", "1", "--out", onlyThree],
  );
  assert.equal(again.status, 0, again.stderr);
  assert.notEqual((await readReferenceSet(onlyThree)).version, matched.version);
  const report = JSON.parse(await readFile(join(dir, "matched.report.json"), "utf8"));
  assert.equal(report.version, matched.version);
  assert.deepEqual(report.embeddingMatch, record);
  assert.equal(report.similarity.length, 4, "the real images, then levels 1–3");
  for (const sheet of [
    "matched.matched.png",
    "matched.level1.png",
    "matched.level3.png",
    "matched.fig9.png",
  ]) {
    assert.ok((await readFile(join(dir, sheet))).length > 100, sheet);
  }
});

test("match-references.ts refuses what it cannot do before any work, with one line and exit 2", async () => {
  const { references } = await fixture();
  const ok = ["--references", references, "--embedder", checkpoint];
  const noLevel = script(...ok, "--levels", "7", "--out", join(dir, "x.safetensors"));
  assert.equal(noLevel.status, 2);
  assert.match(noLevel.stderr, /^match-references: .*has no level 7\n$/);
  const badOut = script(...ok, "--levels", "2,3", "--out", dir); // a folder, not a file
  assert.equal(badOut.status, 2);
  assert.match(badOut.stderr, /^match-references: .*--out/);
  const plain: ReferenceSet = { ...(await readReferenceSet(references)), provenance: {} };
  const noPlan = join(dir, "no-plan.safetensors");
  await writeReferenceSet(noPlan, plain);
  const r = script(
    ...["--references", noPlan, "--embedder", checkpoint, "--levels", "3"],
    ...["--out", join(dir, "y.safetensors")],
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr, /provenance does not name the data set/);
});
