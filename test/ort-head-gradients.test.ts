// The ORT training graph's embedder heads against the tfjs reference step (computeGradients):
// the linear cross-entropy head and ArcFace (hard threshold, large margin, easy margin) on a
// tiny ResNet-shaped embedder, every gradient to 1e-4; and which heads ORT can train.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { resnetSpec } from "../src/nn/resnet.js";
import { type ModelSpec, modelParams } from "../src/nn/spec.js";
import { type EmbedderHeadOptions, embedderHead } from "../src/train/heads.js";
import { ortUnsupported } from "../src/train/ort/grad-graph.js";
import { initHeadWeights } from "../src/train/seeding.js";
import type { StepModel } from "../src/train/step.js";
import { batchFor, compareStepWithTfjs, tinyEmbedderSpec, weightsFor } from "./ort-grad-helpers.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

const embedder = tinyEmbedderSpec(0.5, 0.25);

async function compareHead(spec: ModelSpec, options: EmbedderHeadOptions, seed: number) {
  const head = embedderHead(options);
  const classes = options.classes;
  const trainable = [
    ...modelParams(spec)
      .filter((p) => p.trainable)
      .map((p) => p.name),
    ...head.params.map((p) => `head.${p.name}`),
  ];
  const model: StepModel = { spec, classes, head, trainable };
  const weights = weightsFor(spec, seed);
  for (const [name, w] of Object.entries(initHeadWeights(head, seed))) weights[`head.${name}`] = w;
  return compareStepWithTfjs(model, weights, batchFor(spec, 12, classes, seed + 7));
}

const base = { embeddingSize: 6, classes: 5 };

test("ORT gradients match tfjs with the linear cross-entropy head", async () => {
  await compareHead(embedder, { ...base, loss: "ce" }, 3);
});

test("ORT gradients match tfjs with the ArcFace head (s 64, m 0.5)", async () => {
  await compareHead(embedder, { ...base, loss: "arcface", scale: 64, margin: 0.5 }, 5);
});

test("ORT gradients match tfjs with ArcFace past its threshold (m 1.4: the fallback branch)", async () => {
  await compareHead(embedder, { ...base, loss: "arcface", scale: 8, margin: 1.4 }, 7);
});

test("ORT gradients match tfjs with the ArcFace easy margin", async () => {
  const options = { ...base, loss: "arcface" as const, scale: 16, margin: 0.5, easyMargin: true };
  await compareHead(embedder, options, 9);
});

test("ORT gradients match tfjs on a width-2 ResNet18 with the ArcFace head", async () => {
  const spec = resnetSpec({ depth: 18, width: 2, input: [12, 12, 1], mean: [0.5], std: [0.3] });
  await compareHead(spec, { embeddingSize: 16, classes: 4, loss: "arcface" }, 11);
});

test("ORT trains the linear and ArcFace heads, not a head without a form", () => {
  const spec = resnetSpec({ depth: 18, width: 2, input: [12, 12, 1], mean: [0.5], std: [0.3] });
  for (const loss of ["ce", "arcface"] as const) {
    assert.equal(ortUnsupported(spec, embedderHead({ ...base, loss })), undefined, loss);
  }
  const { form: _, ...custom } = embedderHead({ ...base, loss: "ce" });
  assert.match(ortUnsupported(spec, custom) ?? "", /custom training head/);
  assert.match(ortUnsupported(spec) ?? "", /output "embedding"/);
});
