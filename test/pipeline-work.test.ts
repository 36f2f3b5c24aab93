// The pipeline's stage weights: a spec's forward multiply-accumulates and each stage's work.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pipelineWork } from "../src/eval/pipeline-work.js";
import { distillConvNetSpec } from "../src/nn/convnet.js";
import { forwardMacs } from "../src/nn/cost.js";
import { resnetSpec } from "../src/nn/resnet.js";
import type { ModelSpec } from "../src/nn/spec.js";

test("a forward pass costs its convolutions' and dense layers' multiply-accumulates", () => {
  const spec: ModelSpec = {
    name: "tiny",
    input: [8, 8, 2],
    layers: [
      { kind: "conv2d", filters: 4, kernel: 3, padding: 1 },
      { kind: "relu" },
      { kind: "flatten" },
      { kind: "dense", units: 10 },
    ],
    output: "logits",
  };
  // conv 8·8·4 outputs × 3·3·2, relu and flatten 256 each, dense 256 × 10.
  assert.equal(forwardMacs(spec), 8 * 8 * 4 * 18 + 256 + 256 + 2560);
});

test("the pipeline's stage weights follow the work: images × epochs, subsets × iterations, images embedded, references matched", () => {
  const base = {
    input: [16, 16, 3] as [number, number, number],
    classes: 3,
    trainImages: 12,
    testImages: 6,
    depth: 18 as const,
    width: 2,
    epochs: 2,
    fanIns: [2, 2],
    iterations: 5,
    dmWidth: 4,
  };
  const norm = { mean: [0, 0, 0], std: [1, 1, 1] };
  const embedder = forwardMacs(resnetSpec({ depth: 18, width: 2, input: base.input, ...norm }));
  const convnet = forwardMacs(distillConvNetSpec({ input: base.input, width: 4, ...norm }));
  const work = pipelineWork(base);
  assert.equal(work.train, 2 * (3 * 12 + 6) * embedder);
  // Level 1: 2 subsets over the 12 images, 3 synthetic each; level 2: 1 subset over level 1's 6.
  assert.equal(work.distill, 5 * (12 + 2 * 2 * 3 + (6 + 2 * 1 * 3)) * convnet);
  assert.equal(work.evaluate, (6 + (6 + 3) + 12) * embedder);
  assert.equal(work.export, 0);
  assert.equal(work.match, 0, "no matching without --match");
  // Matching level 2 (1 subset × 3 classes): the training images once, then 2 passes per step.
  const matched = pipelineWork({ ...base, match: { levels: [2], steps: 7 } });
  assert.equal(matched.match, (12 + 2 * 7 * 3) * embedder);
  assert.equal(matched.train, work.train);
  const longer = pipelineWork({ ...base, epochs: 4, iterations: 10 });
  assert.equal(longer.train, 2 * work.train);
  assert.equal(longer.distill, 2 * work.distill);
  assert.equal(longer.evaluate, work.evaluate);
});
