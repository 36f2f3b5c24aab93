// A user's own colour images end to end: an ImageFolder of coloured shapes → scripts/pipeline.ts
// (train, distil, evaluate, export, publish) → the real service classifies held-back uploads by
// name, and prepares colour, grayscale and other-size uploads as the manifest says.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import sharp from "sharp";
import request from "supertest";
import { readManifest } from "../src/models/manifest.js";
import { createApp } from "../src/service/app.js";
import { silentLogger } from "../src/service/log.js";
import { Metrics } from "../src/service/metrics.js";
import { Reloader } from "../src/service/reload.js";
import { ServingState } from "../src/service/state.js";
import { testConfig } from "./service-fixture.js";
import { COLOURS, shapePng, writeFolder } from "./synthetic-shapes.js";

const exec = promisify(execFile);
const root = await mkdtemp(join(tmpdir(), "cgnn-folder-pipeline-"));
const data = join(root, "shapes");
const models = join(root, "models");
const classes = Object.keys(COLOURS);
let state: ServingState;
let reloader: Reloader;
let app: ReturnType<typeof createApp>;
let progressLog: string;
let summary: {
  accuracy: Record<string, number>;
  fanIns: string;
  nearestNeighbour: number;
  minSimilarity?: Record<string, number>;
};

function script(name: string, ...args: string[]) {
  return exec(process.execPath, ["--import", "tsx", `scripts/${name}.ts`, ...args], {
    maxBuffer: 16 << 20,
  });
}

before(async () => {
  await writeFolder(data, 30);
  const { stdout, stderr } = await script(
    "pipeline",
    ...["--data", `folder:${data}`, "--out", join(root, "run", "shapes"), "--publish", models],
    ...["--depth", "18", "--width", "4", "--epochs", "6", "--batch", "16"],
    ...["--distill-config", "quick", "--progress", "lines"],
  );
  progressLog = stderr;
  summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
  const config = testConfig(models);
  const metrics = new Metrics();
  state = new ServingState();
  reloader = new Reloader(config, metrics, state, silentLogger);
  app = createApp({ config, state, metrics, log: silentLogger });
  assert.equal(await reloader.reload("test", true), true);
});

after(async () => {
  await reloader?.close();
  await state?.close();
  await rm(root, { recursive: true, force: true });
});

test("the pipeline derives the fan-ins, evaluates every level and publishes one consistent manifest", async () => {
  assert.equal(summary.fanIns, "2,2,2,2,2");
  assert.deepEqual(Object.keys(summary.accuracy), ["L1", "L2", "L3", "L4", "L5"]);
  assert.ok(summary.nearestNeighbour > 0.6, `1-NN ${summary.nearestNeighbour}`);
  const manifest = await readManifest(models);
  assert.equal(manifest.references?.embedder, "shapes");
  assert.deepEqual(manifest.references?.levels, [1, 2, 3, 4, 5]);
  const best = Math.max(...Object.values(summary.accuracy));
  assert.equal(summary.accuracy[`L${manifest.references?.defaultLevel}`], best);
  const entry = manifest.models.shapes;
  assert.deepEqual(entry.labels, classes);
  assert.deepEqual(entry.input.shape, [32, 32, 3]);
  assert.equal(entry.input.preprocessing.resize, "stretch");
  assert.equal(entry.input.preprocessing.frame, undefined);
});

const STAGES = [
  "train the embedder",
  "distil the references (fan-ins 2,2,2,2,2)",
  "evaluate by angle",
  "export ONNX",
  `publish into ${models}`,
];

/** The overall percentages of the pipeline's lines, in order. */
function overall(log: string): number[] {
  return [...log.matchAll(/^pipeline (\d+\.\d)% ETA \S+ · /gm)].map((m) => Number(m[1]));
}

test("one progress report spans the whole run: the overall share only grows, to 100%, then every stage's time", () => {
  const shares = overall(progressLog);
  assert.ok(shares.length >= 2 * STAGES.length, progressLog);
  for (let i = 1; i < shares.length; i++) assert.ok(shares[i] >= shares[i - 1], progressLog);
  assert.equal(shares[0], 0);
  assert.equal(shares.at(-1), 100);
  // Training is weighted by its work, not as one stage of five.
  const trained = progressLog.match(
    /^pipeline (\d+\.\d)% ETA \S+ · \[1\/5\] train the embedder: [\d.]+ s$/m,
  );
  assert.ok(trained && Number(trained[1]) > 20 && Number(trained[1]) < 100, progressLog);
  const [, timings] = progressLog.split(/^pipeline done in [\d.]+ s\n/m);
  assert.ok(timings, progressLog);
  assert.deepEqual(
    timings
      .trimEnd()
      .split("\n")
      .map((l) => l.replace(/: [\d.]+ s \(\d+% of the time, \d+% of the estimated work\)$/, "")),
    STAGES.map((name, i) => `  [${i + 1}/5] ${name}`),
  );
  // The stages' events went to the display, not to the user; their other lines came through.
  assert.doesNotMatch(progressLog, /"event":"progress"/);
  assert.match(progressLog, /^train-embedder: resnet18-w4 /m);
});

test("run again, every stage's output exists: each counts as done from the start, nothing runs", async () => {
  const { stdout, stderr } = await script(
    "pipeline",
    ...["--data", `folder:${data}`, "--out", join(root, "run", "shapes")],
    ...["--depth", "18", "--width", "4", "--epochs", "6", "--batch", "16"],
    ...["--distill-config", "quick", "--progress", "lines"],
  );
  assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}").accuracy, summary.accuracy);
  assert.deepEqual(overall(stderr), [100, 100, 100, 100], stderr);
  assert.equal(stderr.match(/: resumed \(output existed\)$/gm)?.length, 4, stderr);
  const quiet = await script(
    "pipeline",
    ...["--data", `folder:${data}`, "--out", join(root, "run", "shapes"), "--progress", "none"],
    ...[
      "--depth",
      "18",
      "--width",
      "4",
      "--epochs",
      "6",
      "--batch",
      "16",
      "--distill-config",
      "quick",
    ],
  );
  assert.equal(quiet.stderr, "");
});

test("held-back uploads are classified by name well above chance", async () => {
  let right = 0;
  let total = 0;
  for (const [k, kind] of classes.entries()) {
    for (let i = 0; i < 6; i++) {
      const png = await shapePng(kind, 50_000 + k * 100 + i);
      const res = await request(app).post("/classify").attach("image", png, "x.png");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      // Below the calibrated threshold the answer is "unknown" (no name), else a class name.
      if (res.body.unknown) assert.equal(res.body.label, null);
      else assert.ok(classes.includes(res.body.label), res.body.label);
      assert.deepEqual(res.body.preprocessing, { inverted: false, framed: false });
      if (res.body.label === kind) right++;
      total++;
    }
  }
  assert.ok(right / total >= 0.6, `accuracy ${right}/${total} (chance 1/3)`);
});

test("grayscale, other sizes and swapped channels are prepared as the manifest says", async () => {
  const png = await shapePng("circle", 60_001);
  const { data: rgb, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const bgr = Buffer.from(rgb);
  for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [rgb[i + 2], rgb[i]];
  const raw = { width: info.width, height: info.height, channels: 3 as const };
  const uploads = {
    original: png,
    grey: await sharp(png).greyscale().png().toBuffer(),
    larger: await sharp(png).resize(96, 64, { kernel: "nearest", fit: "fill" }).png().toBuffer(),
    swapped: await sharp(bgr, { raw }).png().toBuffer(),
  };
  const answers: Record<string, { label: string; similarity: number }> = {};
  for (const [name, bytes] of Object.entries(uploads)) {
    const res = await request(app)
      .post("/classify?minSimilarity=-1")
      .attach("image", bytes, `${name}.png`);
    assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(res.body.preprocessing, { inverted: false, framed: false }, name);
    answers[name] = res.body;
  }
  // Stretching 96×64 back to 32×32 restores the picture, so the answer is the original's.
  assert.equal(answers.larger.label, answers.original.label);
  assert.ok(Math.abs(answers.larger.similarity - answers.original.similarity) < 0.02);
  // The swapped picture is another colour: the model sees it (its embedding differs).
  assert.notEqual(answers.swapped.similarity, answers.original.similarity);
  // Digit framing is a per-request override only for 1-channel models: a colour model ignores it.
  const framed = await request(app)
    .post("/classify?frame=true&invert=false&minSimilarity=-1")
    .attach("image", png, "x.png");
  assert.equal(framed.status, 200);
  assert.deepEqual(framed.body.preprocessing, { inverted: false, framed: false });
  assert.equal(framed.body.similarity, answers.original.similarity);
});

test("open set: the manifest holds calibrated thresholds; below one the answer is unknown", async () => {
  const refs = (await readManifest(models)).references;
  assert.deepEqual(Object.keys(refs?.minSimilarity ?? {}), ["1", "2", "3", "4", "5"]);
  const level = refs?.defaultLevel ?? 5;
  assert.equal(summary.minSimilarity?.[String(level)], refs?.minSimilarity?.[String(level)]);
  const png = await shapePng("square", 70_001);
  const strict = await request(app).post("/classify?minSimilarity=1").attach("image", png, "x.png");
  assert.equal(strict.status, 200);
  assert.equal(strict.body.label, null);
  assert.equal(strict.body.unknown, true);
  assert.ok(strict.body.topK.length > 0, "the nearest references are still listed");
  const open = await request(app).post("/classify?minSimilarity=-1").attach("image", png, "x.png");
  assert.equal(open.body.unknown, false);
  assert.ok(classes.includes(open.body.label));
  const bad = await request(app).post("/classify?minSimilarity=2").attach("image", png, "x.png");
  assert.equal(bad.status, 422);
});
