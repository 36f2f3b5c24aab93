// The training step's NCHWc convolutions (nchwc-train.ts) against tfjs: specs whose channels are
// whole NCHWc blocks (16 and 32), so the forward and input-gradient convs run on onnxruntime's
// blocked kernels where this CPU has them; every gradient to 1e-4, as the plain graph, and a
// resumed training run on them bit for bit.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { type ModelSpec, modelParams } from "../src/nn/spec.js";
import { taylorNetSpec } from "../src/nn/taylornet.js";
import { OrtGradients } from "../src/train/ort/engine.js";
import { nchwcBlockSize } from "../src/train/ort/nchwc-block.js";
import { blockFlippedFilter, flipFilter } from "../src/train/ort/nchwc-filters.js";
import { blockFilter } from "../src/train/ort/nchwc-forward.js";
import type { StepModel } from "../src/train/step.js";
import { batchFor, compareStepWithTfjs, weightsFor } from "./ort-grad-helpers.js";
import { assertSameTensors, litPixels, wholeAndResumed } from "./train-fixture.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

const convBn = (filters: number, kernel: number, stride = 1): ModelSpec["layers"] => [
  { kind: "conv2d", filters, kernel, stride, padding: kernel === 1 ? "valid" : 1, bias: false },
  { kind: "batchNorm" },
];

/**
 * ResNet-shaped at width 16/32: a 1-channel stem, strided and identity blocks, a strided 1×1
 * conv on NCHWc and a stride-1 1×1 conv that stays plain.
 */
const wideResnet: ModelSpec = {
  name: "wide-resnet",
  input: [8, 8, 1],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.5], std: [0.25] },
    ...convBn(16, 3),
    { kind: "relu" },
    {
      kind: "residual",
      body: [...convBn(32, 3, 2), { kind: "relu" }, ...convBn(32, 3)],
      shortcut: convBn(32, 1, 2),
    },
    { kind: "relu" },
    {
      kind: "residual",
      body: [...convBn(32, 3), { kind: "relu" }, ...convBn(32, 1)],
      shortcut: [],
    },
    { kind: "relu" },
    { kind: "globalAvgPool" },
    { kind: "dense", units: 5 },
  ],
};

/**
 * Dilated, unpadded, "same" and biased convs at whole blocks, then a 24-filter conv and a 1×1
 * conv on its 24 channels, which are no whole blocks at 16 (at 8 they are) and stay plain.
 */
const wideConvNet: ModelSpec = {
  name: "wide-conv-net",
  input: [9, 8, 16],
  output: "logits",
  layers: [
    { kind: "conv2d", filters: 16, kernel: 3, dilation: 2, padding: 2 },
    { kind: "relu" },
    { kind: "conv2d", filters: 32, kernel: 2, bias: false },
    { kind: "conv2d", filters: 32, kernel: 3, padding: "same" },
    { kind: "conv2d", filters: 24, kernel: 3, padding: 1 },
    { kind: "conv2d", filters: 16, kernel: 1 },
    { kind: "flatten" },
    { kind: "dense", units: 5 },
  ],
};

function stepModel(spec: ModelSpec): StepModel {
  const trainable = modelParams(spec)
    .filter((p) => p.trainable)
    .map((p) => p.name);
  return { spec, classes: 5, trainable };
}

test("flipFilter rotates each kernel and swaps input and output channels", () => {
  // HWIO [2, 2, 1, 2]: value = 10·position + output channel.
  const hwio = Float32Array.of(0, 1, 10, 11, 20, 21, 30, 31);
  const out = new Float32Array(8);
  flipFilter(hwio, [2, 1, 2, 2], out);
  // [2, 2, 2, 1]: position p holds position 3 − p, its output channels now the input axis.
  assert.deepEqual([...out], [30, 31, 20, 21, 10, 11, 0, 1]);
});

test("blockFlippedFilter writes what flipFilter then blockFilter write", () => {
  const [k, cin, f, block] = [3, 32, 16, 8];
  const hwio = Float32Array.from({ length: k * k * cin * f }, (_, i) => i);
  const flipped = new Float32Array(hwio.length);
  flipFilter(hwio, [f, cin, k, k], flipped);
  const expected = new Float32Array(hwio.length);
  blockFilter(flipped, [cin, f, k, k], block, expected);
  const actual = new Float32Array(hwio.length);
  blockFlippedFilter(hwio, [cin, f, k, k], block, actual);
  assert.deepEqual(actual, expected);
});

test("the NCHWc step graph blocks the whole-block convs and only those", async (t) => {
  const block = await nchwcBlockSize();
  if (block === undefined) return t.skip("no NCHWc kernels on this CPU");
  const engine = await OrtGradients.create(stepModel(wideConvNet), { threads: 1 });
  const plain = await OrtGradients.create(stepModel(wideConvNet), { threads: 1, layout: "plain" });
  try {
    // At 16: forward 16→16, 16→32, 32→32 and the input gradients of the last two; at 8 the
    // 24-channel convs too. The first conv's input gradient is never built.
    const expected = block === 16 ? 5 : 7;
    assert.equal(engine.blockedFilters, expected);
    assert.equal(plain.blockedFilters, 0);
  } finally {
    await engine.close();
    await plain.close();
  }
});

test("ORT gradients match tfjs on a width-16/32 ResNet with NCHWc convs", async () => {
  const model = stepModel(wideResnet);
  await compareStepWithTfjs(model, weightsFor(wideResnet, 3), batchFor(wideResnet, 8, 5, 11));
});

test("ORT gradients match tfjs on whole-block dilated, unpadded and same NCHWc convs beside plain ones", async () => {
  const model = stepModel(wideConvNet);
  await compareStepWithTfjs(model, weightsFor(wideConvNet, 5), batchFor(wideConvNet, 8, 5, 13));
});

test("train() on NCHWc convs learns and resumes to the same weights", async (t) => {
  const spec = taylorNetSpec("mnist7", { width: 16 });
  const probe = await OrtGradients.create({ ...stepModel(spec), classes: 10 }, { threads: 1 });
  const blocked = probe.blockedFilters;
  await probe.close();
  if (blocked === 0) return t.skip("no NCHWc kernels on this CPU");
  const { whole, resumed } = await wholeAndResumed({
    spec,
    train: litPixels(80, 1),
    epochs: 3,
    batchSize: 16,
    lr: 0.01,
    engine: "ort",
    progress: "none",
  });
  assert.ok(whole.history[2].loss < whole.history[0].loss * 0.8, "loss falls");
  assertSameTensors(whole.weights, resumed.weights);
});
