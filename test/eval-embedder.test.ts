import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Dataset } from "../src/data/dataset.js";
import { encodeIdx } from "../src/data/idx.js";
import { loadEmbedder } from "../src/eval/embedder.js";
import { evaluateByAngle, evaluateSourceByAngle } from "../src/eval/evaluate-embedder.js";
import { checkpointEmbedSource, onnxEmbedSource } from "../src/eval/onnx-embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { resnetSpec } from "../src/nn/resnet.js";
import { initWeights } from "../src/nn/weights.js";
import { writeOnnxModel } from "../src/onnx/export.js";
import type { ReferenceSet } from "../src/references/reference-set.js";
import { saveCheckpoint } from "../src/train/checkpoint.js";
import { rng } from "../src/util/random.js";
import { saveSafetensors } from "../src/util/safetensors.js";
import { saveFreshCheckpoint } from "./checkpoint-fixture.js";

const spec = resnetSpec({ depth: 18, width: 2, input: [8, 8, 1], mean: [0.5], std: [0.5] });
let dir: string;
let checkpoint: string;

before(async () => {
  await initBackend("wasm", { quiet: true });
  dir = await mkdtemp(join(tmpdir(), "cgnn-eval-"));
  checkpoint = join(dir, "embedder.safetensors");
  const head = { kernel: { shape: [16, 3], data: new Float32Array(48) } };
  await saveCheckpoint(checkpoint, {
    spec,
    weights: initWeights(spec, 5),
    headWeights: head,
    optimizer: { step: 3, slots: {} },
    epoch: 2,
    config: { lr: 0.1 },
    metrics: [],
    rng: { seed: 0, scheme: "test" },
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Three "classes" of 8×8 images: a bright left, middle or right band, plus noise. */
function bands(count: number, seed: number): Dataset {
  const random = rng(seed);
  const images = new Float32Array(count * 64);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 3;
    for (let p = 0; p < 64; p++) {
      const col = p % 8;
      const on = Math.floor(col / 3) === labels[i] ? 0.8 : 0;
      images[i * 64 + p] = Math.min(1, on + 0.2 * random());
    }
  }
  return {
    name: "bands",
    images,
    labels,
    count,
    height: 8,
    width: 8,
    channels: 1,
    classes: ["l", "m", "r"],
  };
}

test("loadEmbedder keeps the spec's weights only and rejects non-embedders", async () => {
  const embedder = await loadEmbedder(checkpoint);
  assert.equal(embedder.dim, 16);
  assert.equal(embedder.epoch, 2);
  assert.ok(Object.keys(embedder.weights).every((n) => !n.startsWith("head.")));
  const logits = join(dir, "logits.safetensors");
  await saveFreshCheckpoint(
    logits,
    { ...spec, layers: [{ kind: "globalAvgPool" }], output: "logits" },
    {},
  );
  await assert.rejects(loadEmbedder(logits), /not an embedding/);
  const plain = join(dir, "plain.safetensors");
  await saveSafetensors(plain, {});
  await assert.rejects(loadEmbedder(plain), /plain\.safetensors: not a cgnn checkpoint/);
});

test("evaluateByAngle reports every level and both baselines, and checks shapes", async () => {
  const embedder = await loadEmbedder(checkpoint);
  const train = bands(30, 2);
  const test = bands(12, 3);
  const level = (n: number, l: number) => {
    const d = bands(n, 10 + l);
    return { level: l, images: d.images, labels: d.labels, count: n };
  };
  const references: ReferenceSet = {
    version: "synthetic",
    classes: ["l", "m", "r"],
    height: 8,
    width: 8,
    channels: 1,
    provenance: {},
    levels: [level(3, 5), level(9, 2)],
  };
  const result = await evaluateByAngle({ embedder, test, references, train, batch: 5 });
  assert.deepEqual(
    result.levels.map((l) => [l.level, l.references]),
    [
      [2, 9],
      [5, 3],
    ],
  );
  assert.deepEqual(Object.keys(result.accuracy), ["L2", "L5"]);
  for (const a of [
    ...Object.values(result.accuracy),
    result.classMean?.accuracy,
    result.nearestNeighbour?.accuracy,
  ]) {
    assert.ok(typeof a === "number" && a >= 0 && a <= 1);
  }
  assert.equal(result.nearestNeighbour?.trainingImages, 30);
  assert.equal(result.testImages, 12);
  const wrong = { ...test, height: 4, width: 16 };
  await assert.rejects(evaluateByAngle({ embedder, test: wrong }), /takes 8×8×1/);
});

test("an exported ONNX embedder scores the same as its checkpoint on tfjs", async () => {
  const embedder = await loadEmbedder(checkpoint);
  const onnxPath = join(dir, "embedder.onnx");
  await writeOnnxModel(onnxPath, embedder.spec, embedder.weights, { role: "embedder" });
  const train = bands(30, 4);
  const test = bands(15, 5);
  const d = bands(6, 6);
  const references: ReferenceSet = {
    version: "synthetic",
    classes: ["l", "m", "r"],
    height: 8,
    width: 8,
    channels: 1,
    provenance: {},
    levels: [{ level: 1, images: d.images, labels: d.labels, count: 6 }],
  };
  const expected = await evaluateByAngle({ embedder, test, references, train });
  const source = await onnxEmbedSource(onnxPath, { batch: 4, threads: 1 });
  try {
    assert.deepEqual(source.input, [8, 8, 1]);
    assert.equal(source.dim, embedder.dim);
    const actual = await evaluateSourceByAngle(source, { test, references, train });
    assert.deepEqual(actual.accuracy, expected.accuracy);
    assert.equal(actual.classMean?.accuracy, expected.classMean?.accuracy);
    assert.equal(actual.nearestNeighbour?.accuracy, expected.nearestNeighbour?.accuracy);
    await assert.rejects(
      evaluateSourceByAngle(source, { test: { ...test, height: 4, width: 16 } }),
      /takes 8×8×1/,
    );
  } finally {
    await source.close();
  }
});

test("evaluate.ts ends bad flags and missing files with one line and exit code 2", () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "scripts/evaluate.ts", ...args], {
      encoding: "utf8",
    });
  const bad = run("--bogus");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^evaluate: .*bogus.*\n$/);
  const missing = run("--embedder", join(dir, "absent.safetensors"));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^evaluate: .*absent\.safetensors.*\n$/);
});

test("with onProgress the images are embedded in chunks, counted to the total, and score the same", async () => {
  const embedder = await loadEmbedder(checkpoint);
  const train = bands(40, 4);
  const test = bands(1100, 5); // over two 512-image chunks
  const references: ReferenceSet = {
    version: "synthetic",
    classes: ["l", "m", "r"],
    height: 8,
    width: 8,
    channels: 1,
    provenance: {},
    levels: [{ level: 1, ...bands(6, 6) }],
  };
  const calls: [number, number][] = [];
  const inputs = { embedder, test, references, train };
  const counted = await evaluateByAngle({
    ...inputs,
    onProgress: (done, total) => calls.push([done, total]),
  });
  const plain = await evaluateByAngle(inputs);
  assert.deepEqual(
    calls.map(([done]) => done),
    [512, 1024, 1100, 1106, 1146],
  );
  assert.ok(calls.every(([, total]) => total === 1146));
  assert.deepEqual(counted.accuracy, plain.accuracy);
  assert.deepEqual(counted.nearestNeighbour, plain.nearestNeighbour);
  assert.deepEqual(counted.classMean, plain.classMean);
});

test("a checkpoint exported in memory embeds as its ONNX file does, and evaluate.ts scores it on either engine alike", async () => {
  const embedder = await loadEmbedder(checkpoint);
  const onnxPath = join(dir, "same.onnx");
  await writeOnnxModel(onnxPath, embedder.spec, embedder.weights, { role: "embedder" });
  const images = bands(9, 7).images;
  const fromFile = await onnxEmbedSource(onnxPath, { threads: 1 });
  const inMemory = await checkpointEmbedSource(embedder, checkpoint, { batch: 4, threads: 1 });
  try {
    assert.equal(inMemory.name, spec.name);
    assert.deepEqual(await inMemory.embed(images, 9), await fromFile.embed(images, 9));
  } finally {
    await Promise.all([fromFile.close(), inMemory.close()]);
  }

  // The script end to end on an IDX folder of band images: ort (the default) and tfjs agree.
  const data = join(dir, "bands-idx");
  await mkdir(data, { recursive: true });
  await writeFile(join(data, "labels.txt"), "l\nm\nr\n");
  for (const [prefix, set] of [
    ["train", bands(30, 8)],
    ["t10k", bands(24, 9)],
  ] as const) {
    const pixels = Uint8Array.from(set.images, (v) => Math.round(v * 255));
    await writeFile(
      join(data, `${prefix}-images-idx3-ubyte`),
      encodeIdx([set.count, 8, 8], pixels),
    );
    await writeFile(join(data, `${prefix}-labels-idx1-ubyte`), encodeIdx([set.count], set.labels));
  }
  const score = (engine: string) => {
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/evaluate.ts",
        "--embedder",
        checkpoint,
        "--data",
        `idx:${data}`,
        "--engine",
        engine,
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const [ort, tfjs] = [score("ort"), score("tfjs")];
  assert.equal(ort.engine, "ort");
  assert.equal(tfjs.engine, "tfjs");
  assert.equal(ort.model, spec.name);
  assert.equal(ort.embedderEpochs, 2);
  assert.equal(ort.classMean.accuracy, tfjs.classMean.accuracy);
  assert.equal(ort.nearestNeighbour.accuracy, tfjs.nearestNeighbour.accuracy);
  const refusal = spawnSync(
    process.execPath,
    ["--import", "tsx", "scripts/evaluate.ts", "--embedder", onnxPath, "--engine", "tfjs"],
    { encoding: "utf8" },
  );
  assert.equal(refusal.status, 2);
  assert.match(refusal.stderr, /^evaluate: --engine tfjs needs a trainer checkpoint/);
});
