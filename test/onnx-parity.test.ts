// tfjs (reference, cpu backend) and onnxruntime outputs of every architecture family agree.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadOnnxModel } from "../src/inference/runtime.js";
import { distillConvNetSpec } from "../src/nn/convnet.js";
import { resnetSpec } from "../src/nn/resnet.js";
import type { ModelSpec } from "../src/nn/spec.js";
import { taylorNetSpec } from "../src/nn/taylornet.js";
import * as tf from "../src/nn/tf.js";
import type { CgMode } from "../src/onnx/emit-context.js";
import { writeOnnxModel } from "../src/onnx/export.js";
import {
  calibrateBatchNorm,
  convNetLike,
  directTaylor,
  maxRelativeError,
  randomImages,
  randomWeights,
  resnetLike,
  taylorLike,
  tfjsForward,
} from "./onnx-fixtures.js";

let dir: string;
before(async () => {
  await tf.setBackend("cpu");
  dir = await mkdtemp(join(tmpdir(), "cgnn-onnx-parity-"));
});
after(() => rm(dir, { recursive: true, force: true }));

async function parity(spec: ModelSpec, cgMode: CgMode = "auto", seed = 1) {
  const weights = randomWeights(spec, seed);
  calibrateBatchNorm(spec, weights, randomImages(16, spec.input, seed + 7), 16, seed + 3);
  const file = join(dir, `${spec.name}-${cgMode}.onnx`);
  await writeOnnxModel(file, spec, weights, { cgMode });
  const model = await loadOnnxModel(file);
  try {
    for (const n of [1, 7]) {
      const images = randomImages(n, spec.input, seed + n);
      const expected = tfjsForward(spec, weights, images, n);
      const actual = await model.run(images, n);
      assert.equal(actual.length, expected.length);
      assert.ok(expected.every(Number.isFinite), `${spec.name}: reference is finite`);
      const error = maxRelativeError(actual, expected);
      assert.ok(error <= 1e-4, `${spec.name} (${cgMode}) batch ${n}: error ${error}`);
    }
  } finally {
    await model.close();
  }
}

for (const shared of [false, true]) {
  for (const mode of ["slice", "depthwise", "matmul"] as const) {
    test(`TaylorNet-like conv+cg+batchNorm+dense, shared=${shared}, cg as ${mode}`, () =>
      parity(taylorLike(shared), mode));
  }
}

test("direct Taylor: monomials of order 3 on a 4×4 input", () => parity(directTaylor));
test("ResNet-like: residual, folded batch norm, global average pool", () => parity(resnetLike));
test("ConvNet-like: instance norm, average pool, dilation, l2normalize", () => parity(convNetLike));

test("src/nn/resnet.ts ResNet18 and ResNet50 (tiny widths)", async () => {
  const common = { input: [8, 8, 1] as [number, number, number], mean: [0.13], std: [0.31] };
  await parity(resnetSpec({ depth: 18, width: 2, ...common }));
  await parity(resnetSpec({ depth: 50, width: 1, ...common }));
});
test("src/nn/convnet.ts distillation ConvNet (tiny width)", () =>
  parity(distillConvNetSpec({ input: [12, 12, 1], width: 4, depth: 2 })));

test("src/nn/taylornet.ts mnist7, mnist28, cifar10 and the ablation (tiny widths)", async () => {
  await parity(taylorNetSpec("mnist7", { width: 3, order: 3 }));
  await parity(taylorNetSpec("mnist28", { width: 2 }), "depthwise");
  await parity(taylorNetSpec("mnist28", { width: 24 }));
  await parity(taylorNetSpec("cifar10", { width: 2 }));
  await parity(taylorNetSpec("mnist7", { width: 3, ablate: true }));
});

test("the parity check notices a wrong weight", async () => {
  const spec = directTaylor;
  const weights = randomWeights(spec, 2);
  const file = join(dir, "tampered.onnx");
  const tampered = structuredClone(weights);
  tampered["2.kernel"].data[5] += 0.5;
  await writeOnnxModel(file, spec, tampered);
  const model = await loadOnnxModel(file);
  const images = randomImages(3, spec.input, 9);
  const error = maxRelativeError(await model.run(images, 3), tfjsForward(spec, weights, images, 3));
  await model.close();
  assert.ok(error > 1e-3, `tampered model should disagree, error ${error}`);
});
