// Distribution matching on onnxruntime against tfjs: the DM graph's Eq. 5 and its gradient with
// respect to the synthetic images (both repulsions), and whole subsets distilled on both engines.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as ort from "onnxruntime-node";
import { DistillInterrupted } from "../src/distill/distill-config.js";
import { type DmConfig, distillSubset, initialImages } from "../src/distill/dm.js";
import {
  distillSubsetOrt,
  dmSpec,
  releaseDmSessions,
  resolveDmEngine,
} from "../src/distill/dm-ort.js";
import { classStats, disposeStats, eq5Loss, type Repulsion } from "../src/distill/loss.js";
import { runDistillation } from "../src/distill/pipeline.js";
import { initBackend } from "../src/nn/backend.js";
import { forward, type ParamTensors } from "../src/nn/forward.js";
import * as tf from "../src/nn/tf.js";
import { initWeights } from "../src/nn/weights.js";
import { buildDmGraph } from "../src/train/ort/dm-graph.js";
import { nchwcBlockSize } from "../src/train/ort/nchwc-block.js";
import { blockFilter } from "../src/train/ort/nchwc-forward.js";
import { rng } from "../src/util/random.js";
import { toyData, toyProblem } from "./distill-helpers.js";

before(() => initBackend("wasm", { quiet: true }));
after(() => releaseDmSessions());

const config: DmConfig = {
  iterations: 5,
  width: 4,
  lr: 1,
  momentum: 0.5,
  lambda: 19,
  mean: [0.1307],
  std: [0.3081],
};

function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

/** nchwcBlock: the real images' convolutions on onnxruntime's NCHWc kernels (nchwc-forward.ts). */
async function compareStep(repulsion: Repulsion, lambda: number, width = 4, nchwcBlock?: number) {
  const problem = toyProblem(3, 21);
  const spec = dmSpec({ ...config, width }, problem.shape);
  const weights = initWeights(spec, 77);
  const random = rng(5);
  const synthetic = Float32Array.from(initialImages(problem), (v) => v * 0.7 + 0.3 * random());
  const [h, w, c] = problem.shape;
  const params: ParamTensors = {};
  for (const [name, t] of Object.entries(weights)) params[name] = tf.tensor(t.data, t.shape);
  const fx = tf.tidy(
    () => forward(spec, params, tf.tensor4d(problem.images, [9, h, w, c])) as tf.Tensor2D,
  );
  const stats = classStats(fx, problem.labels, 3);
  const y = tf.tensor4d(synthetic, [3, h, w, c]);
  const { value, grad } = tf.valueAndGrad((s: tf.Tensor) =>
    eq5Loss(forward(spec, params, s) as tf.Tensor2D, stats, lambda, repulsion),
  )(y);
  const expectedLoss = value.dataSync()[0];
  const expectedGrad = grad.dataSync() as Float32Array;
  tf.dispose([value, grad, fx, y, ...Object.values(params)]);
  disposeStats(stats);

  const graph = buildDmGraph(spec, 3, repulsion, nchwcBlock);
  assert.equal(Object.keys(graph.blockedFilters).length, nchwcBlock ? 3 : 0);
  const session = await ort.InferenceSession.create(graph.bytes);
  try {
    const onehot = new Float32Array(27);
    problem.labels.forEach((l, i) => {
      onehot[i * 3 + l] = 1;
    });
    const feeds: Record<string, ort.Tensor> = {
      [graph.real[0]]: new ort.Tensor("float32", problem.images, [9, h, w, c]),
      [graph.onehot]: new ort.Tensor("float32", onehot, [9, 3]),
      [graph.synthetic]: new ort.Tensor("float32", synthetic, [3, h, w, c]),
      [graph.lambda]: new ort.Tensor("float32", Float32Array.of(lambda), [1]),
    };
    for (const [name, { input, shape }] of Object.entries(graph.weights)) {
      feeds[input] = new ort.Tensor("float32", weights[name].data, shape);
    }
    for (const [name, { input, shape }] of Object.entries(graph.blockedFilters)) {
      const blocked = new Float32Array(weights[name].data.length);
      blockFilter(weights[name].data, shape, nchwcBlock ?? 1, blocked);
      feeds[input] = new ort.Tensor("float32", blocked, shape);
    }
    assert.deepEqual(Object.keys(graph.weights).sort(), Object.keys(weights).sort());
    const out = await session.run(feeds);
    const loss = (out[graph.loss].data as Float32Array)[0];
    assert.ok(
      Math.abs(loss - expectedLoss) <= 1e-4 * Math.abs(expectedLoss),
      `${loss} vs ${expectedLoss}`,
    );
    const { diff, scale } = maxDiff(out[graph.grad].data as Float32Array, expectedGrad);
    assert.ok(scale > 0, "the tfjs gradient is all zeros");
    assert.ok(diff <= 1e-4 * scale, `gradient: max diff ${diff} vs scale ${scale}`);
  } finally {
    await session.release();
  }
}

test("the DM graph's Eq. 5 and d loss / d synthetic match tfjs (eq5)", async () => {
  await compareStep("eq5", 19);
});

test("the DM graph's Eq. 5 and d loss / d synthetic match tfjs (capped, another λ)", async () => {
  await compareStep("capped", 3);
});

test("with the real images on NCHWc kernels (width 16), the DM graph still matches tfjs", async (t) => {
  const block = await nchwcBlockSize();
  if (!block) return t.skip("this CPU's onnxruntime has no NCHWc kernels");
  assert.ok(16 % block === 0, `block ${block}`);
  await compareStep("eq5", 19, 16, block);
  await compareStep("capped", 3, 16, block);
});

test("NCHWc and plain real-image convolutions distil the same subset, float rounding apart", async () => {
  const problem = toyProblem(4, 8);
  const wide = { ...config, width: 16 };
  const nchwc = await distillSubsetOrt(problem, wide, { layout: "nchwc" });
  const plain = await distillSubsetOrt(problem, wide, { layout: "plain" });
  const { diff } = maxDiff(nchwc.images, plain.images);
  assert.ok(diff <= 1e-4, `images: max diff ${diff}`);
  assert.notDeepEqual(plain.images, initialImages(problem));
  assert.ok(Math.abs(nchwc.lastLoss - plain.lastLoss) <= 1e-4 * Math.abs(plain.lastLoss));
});

test("the real images' forward in parts gives the numbers of one whole batch", async () => {
  const problem = toyProblem(4, 8);
  const wide = { ...config, width: 16 };
  for (const layout of ["nchwc", "plain"] as const) {
    const whole = await distillSubsetOrt(problem, wide, { layout, realChunk: 1000 });
    const parts = await distillSubsetOrt(problem, wide, { layout, realChunk: 5 });
    const { diff } = maxDiff(parts.images, whole.images);
    assert.ok(diff <= 1e-5, `${layout}: images max diff ${diff}`);
    assert.ok(Math.abs(parts.lastLoss - whole.lastLoss) <= 1e-5 * Math.abs(whole.lastLoss));
  }
});

test("a subset distilled on ORT matches tfjs after a few iterations", async () => {
  const problem = toyProblem(4, 8);
  const expected = distillSubset(problem, config);
  const actual = await distillSubsetOrt(problem, config);
  const { diff } = maxDiff(actual.images, expected.images);
  assert.ok(diff <= 1e-3, `images: max diff ${diff}`);
  assert.notDeepEqual(actual.images, initialImages(problem));
  assert.ok(Math.abs(actual.firstLoss - expected.firstLoss) <= 1e-4 * Math.abs(expected.firstLoss));
  assert.ok(Math.abs(actual.lastLoss - expected.lastLoss) <= 1e-3 * Math.abs(expected.lastLoss));
  const again = await distillSubsetOrt(problem, config);
  assert.deepEqual(again.images, actual.images, "ORT distillation is deterministic");
});

test("auto takes ort for the distillation ConvNet; tfjs stays selectable", () => {
  assert.deepEqual(resolveDmEngine("auto", config, [28, 28, 1]), { engine: "ort" });
  assert.deepEqual(resolveDmEngine("tfjs", config, [28, 28, 1]), { engine: "tfjs" });
  assert.deepEqual(resolveDmEngine("ort", config, [12, 12, 1]), { engine: "ort" });
});

test("on ORT, in-process and 2 worker threads give the same references", async () => {
  const data = toyData(6, 4);
  const pipeline = {
    fanIns: [3, 2],
    seed: 3,
    iterations: 3,
    width: 4,
    lr: 1,
    momentum: 0.5,
    lambda: 19,
    mean: [0.1307],
    std: [0.3081],
  };
  const engine = { engine: "ort" as const, threads: 1 };
  const inline = await runDistillation(data, pipeline, { workers: 0, engine });
  const two = await runDistillation(data, pipeline, { workers: 2, engine });
  assert.deepEqual(
    two.levels.map((l) => l.images),
    inline.levels.map((l) => l.images),
  );
  const tfjs = await runDistillation(data, pipeline, { workers: 0 });
  const { diff } = maxDiff(inline.levels[1].images, tfjs.levels[1].images);
  assert.ok(diff <= 1e-3, `ORT vs tfjs references: max diff ${diff}`); // Width 16: the real images' convolutions on NCHWc kernels (where the CPU has them).
  const wide = { ...pipeline, width: 16 };
  const wideInline = await runDistillation(data, wide, { workers: 0, engine });
  const wideTwo = await runDistillation(data, wide, { workers: 2, engine });
  assert.deepEqual(
    wideTwo.levels.map((l) => l.images),
    wideInline.levels.map((l) => l.images),
  );
});

test("a checkpoint resumes on the engine it started on, and is refused on the other", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-dm-ort-"));
  try {
    const data = toyData(6, 9);
    const pipeline = { ...config, fanIns: [3, 2], seed: 5, iterations: 2 };
    const engine = { engine: "ort" as const, threads: 1 };
    const checkpoint = join(dir, "run.checkpoint");
    const whole = await runDistillation(data, pipeline, { workers: 0, engine });
    const stop = new AbortController();
    await assert.rejects(
      runDistillation(data, pipeline, {
        workers: 0,
        engine,
        checkpoint,
        checkpointEvery: 1,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.doneHere >= 1) stop.abort();
        },
      }),
      DistillInterrupted,
    );
    await assert.rejects(
      runDistillation(data, pipeline, { workers: 0, checkpoint, resume: true }),
      /another run \(different data, config or engine\)/,
    );
    const resumed = await runDistillation(data, pipeline, {
      workers: 0,
      engine,
      checkpoint,
      resume: true,
    });
    assert.ok(resumed.restored > 0);
    assert.deepEqual(
      resumed.levels.map((l) => l.images),
      whole.levels.map((l) => l.images),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
