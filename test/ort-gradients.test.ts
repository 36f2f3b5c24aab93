// The ORT training graph against the tfjs reference step (computeGradients): loss, accuracy,
// every gradient and the batch-norm statistics on tiny TaylorNets and a hand-made spec that
// covers stride-2, dilated, padded and shared CG, strided conv, and 1-D batch norm.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { type ModelSpec, modelParams } from "../src/nn/spec.js";
import { taylorNetSpec } from "../src/nn/taylornet.js";
import { resolveEngine } from "../src/train/create-engine.js";
import { type OrtEngineOptions, OrtGradients } from "../src/train/ort/engine.js";
import { ortUnsupported } from "../src/train/ort/grad-graph.js";
import { computeGradients, type StepModel } from "../src/train/step.js";
import { assertClose, batchFor, compareStepWithTfjs, weightsFor } from "./ort-grad-helpers.js";
import { assertSameTensors, litPixels, wholeAndResumed } from "./train-fixture.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

const mixed: ModelSpec = {
  name: "mixed",
  input: [12, 12, 2],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.5, 0.4], std: [0.3, 0.2] },
    { kind: "conv2d", filters: 3, kernel: 3, padding: 1 },
    { kind: "cg", filters: 4, kernel: 2, order: 2, stride: 2 },
    { kind: "batchNorm" },
    { kind: "cg", filters: 3, kernel: 2, order: 3, dilation: 3, padding: 1 },
    { kind: "batchNorm" },
    { kind: "conv2d", filters: 4, kernel: 3, stride: 2, padding: "same" },
    { kind: "cg", filters: 3, kernel: 2, order: 2, stride: 2, shared: true },
    { kind: "flatten" },
    { kind: "dense", units: 6 },
    { kind: "batchNorm" },
    { kind: "dense", units: 5 },
  ],
};

const convBn = (filters: number, kernel: number, stride = 1): ModelSpec["layers"] => [
  { kind: "conv2d", filters, kernel, stride, padding: kernel === 1 ? "valid" : 1, bias: false },
  { kind: "batchNorm" },
];

const resnetLike: ModelSpec = {
  name: "resnet-like",
  input: [10, 10, 2],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.5, 0.5], std: [0.25, 0.25] },
    ...convBn(4, 3),
    { kind: "relu" },
    {
      kind: "residual",
      body: [...convBn(6, 3, 2), { kind: "relu" }, ...convBn(6, 3)],
      shortcut: convBn(6, 1, 2),
    },
    { kind: "relu" },
    { kind: "residual", body: convBn(6, 3), shortcut: [] },
    { kind: "avgPool", size: 2 },
    { kind: "globalAvgPool" },
    { kind: "dense", units: 5 },
  ],
};

/** Plain convs: dilated and padded, unpadded, 1×1, with and without bias. */
const convNet: ModelSpec = {
  name: "conv-net",
  input: [9, 8, 2],
  output: "logits",
  layers: [
    { kind: "conv2d", filters: 3, kernel: 3, dilation: 2, padding: 2 },
    { kind: "relu" },
    { kind: "conv2d", filters: 4, kernel: 2, bias: false },
    { kind: "conv2d", filters: 3, kernel: 1 },
    { kind: "flatten" },
    { kind: "dense", units: 4 },
  ],
};

/** The distillation ConvNet's blocks (instance norm, plain and affine) under a dense head. */
const instanceNet: ModelSpec = {
  name: "instance-net",
  input: [12, 12, 2],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.5, 0.4], std: [0.3, 0.2] },
    { kind: "conv2d", filters: 4, kernel: 3, padding: 3, bias: false },
    { kind: "instanceNorm" },
    { kind: "relu" },
    { kind: "avgPool", size: 2 },
    { kind: "conv2d", filters: 3, kernel: 3, padding: 1 },
    { kind: "instanceNorm", affine: true, epsilon: 1e-3 },
    { kind: "relu" },
    { kind: "avgPool", size: 2 },
    { kind: "flatten" },
    { kind: "dense", units: 5 },
  ],
};

async function compare(
  spec: ModelSpec,
  classes: number,
  seed: number,
  options: OrtEngineOptions = {},
) {
  const trainable = modelParams(spec)
    .filter((p) => p.trainable)
    .map((p) => p.name);
  const model: StepModel = { spec, classes, trainable };
  const weights = weightsFor(spec, seed);
  const batch = batchFor(spec, 8, classes, seed + 7);
  const actual = await compareStepWithTfjs(model, weights, batch, options);
  assert.equal(actual.count, 8);
}

test("ORT gradients match tfjs on a width-4 mnist7 TaylorNet", async () => {
  await compare(taylorNetSpec("mnist7", { width: 4 }), 10, 3);
});

test("ORT gradients match tfjs on a width-3 mnist28 TaylorNet", async () => {
  await compare(taylorNetSpec("mnist28", { width: 3 }), 10, 5);
});

test("ORT gradients match tfjs on strided, dilated, padded and shared CG, strided conv, 1-D BN", async () => {
  await compare(mixed, 5, 11);
});

test("ORT gradients match tfjs on relu, residual blocks and average pools", async () => {
  await compare(resnetLike, 5, 13);
});

test("ORT gradients match tfjs through instance norm (plain and affine) and the ConvNet's pools", async () => {
  await compare(instanceNet, 5, 17);
});

test("ORT gradients match tfjs with each conv kernel-gradient form (strided, dilated, padded, 1×1)", async () => {
  for (const convWeightGrad of ["im2col", "views", "cnhw", "cnhw-views", "auto"] as const) {
    await compare(mixed, 5, 11, { convWeightGrad });
    await compare(resnetLike, 5, 13, { convWeightGrad });
    await compare(convNet, 4, 19, { convWeightGrad });
  }
});

test("ORT gradients match tfjs with the Conv-based kernel gradient", async () => {
  const spec = taylorNetSpec("mnist7", { width: 4 });
  const trainable = modelParams(spec)
    .filter((p) => p.trainable)
    .map((p) => p.name);
  const model: StepModel = { spec, classes: 10, trainable };
  const weights = weightsFor(spec, 9);
  const batch = batchFor(spec, 8, 10, 2);
  const expected = computeGradients(model, weights, batch);
  const engine = await OrtGradients.create(model, { convWeightGrad: "conv" });
  try {
    const actual = await engine.compute(weights, batch);
    for (const name of trainable) assertClose(actual.grads[name], expected.grads[name], name);
  } finally {
    await engine.close();
  }
});

test("ORT training names what it cannot build", async () => {
  const spec: ModelSpec = {
    name: "instance-net",
    input: [4, 4, 1],
    output: "logits",
    layers: [
      { kind: "conv2d", filters: 2, kernel: 3 },
      { kind: "residual", body: [{ kind: "l2normalize" }], shortcut: [] },
      { kind: "flatten" },
    ],
  };
  assert.match(ortUnsupported(spec) ?? "", /layer 1\.body\.0 \(l2normalize\)/);
  assert.equal(ortUnsupported(taylorNetSpec("mnist7", { width: 2 })), undefined);
  await assert.rejects(
    OrtGradients.create({ spec, classes: 8, trainable: ["0.kernel"] }),
    /layer 1\.body\.0 \(l2normalize\)/,
  );
});

test("train() with the ORT engine learns and resumes to the same weights", async () => {
  const { whole, resumed } = await wholeAndResumed({
    spec: taylorNetSpec("mnist7", { width: 4 }),
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

test("resolveEngine picks ORT only for models it can build", () => {
  const mnist7 = taylorNetSpec("mnist7", { width: 2 });
  assert.equal(resolveEngine("auto", { spec: mnist7 }), "ort");
  assert.equal(resolveEngine("tfjs", { spec: mnist7 }), "tfjs");
  const norm: ModelSpec = { ...mnist7, layers: [{ kind: "l2normalize" }, ...mnist7.layers] };
  assert.equal(resolveEngine("auto", { spec: norm }), "tfjs");
  assert.throws(() => resolveEngine("ort", { spec: norm }), /layer 0 \(l2normalize\)/);
});
