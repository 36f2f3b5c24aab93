// Export → load → metadata read back; clear errors for corrupted, truncated and mis-shaped input;
// the structural checker accepts exported graphs and names each broken rule.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadOnnxModel } from "../src/inference/runtime.js";
import type { ModelSpec } from "../src/nn/spec.js";
import { taylorNetSpec } from "../src/nn/taylornet.js";
import { checkModel } from "../src/onnx/check.js";
import {
  buildOnnxModel,
  NORMALIZED_OUTPUT,
  weightsSha256,
  writeOnnxModel,
} from "../src/onnx/export.js";
import { decodeModel, encodeModel } from "../src/onnx/proto.js";
import { readOnnxModelMetadata } from "../src/onnx/read-metadata.js";
import {
  directTaylor,
  randomImages,
  randomWeights,
  resnetLike,
  taylorLike,
} from "./onnx-fixtures.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cgnn-onnx-rt-"));
});
after(() => rm(dir, { recursive: true, force: true }));

test("round trip: metadata, shapes and the normalised embedding come back", async () => {
  const weights = randomWeights(resnetLike, 4);
  const file = join(dir, "embedder.onnx");
  const written = await writeOnnxModel(file, resnetLike, weights, {
    name: "mnist-resnet18",
    version: "1.2.0",
    labels: ["0", "1", "2"],
    metrics: { accuracy: 0.987 },
    data: { name: "mnist", train: 60000 },
    normalizedOutput: true,
  });
  assert.equal(written.bytes, (await readFile(file)).length);
  const meta = await readOnnxModelMetadata(file);
  assert.equal(meta.name, "mnist-resnet18");
  assert.equal(meta.version, "1.2.0");
  assert.equal(meta.role, "embedder");
  assert.deepEqual(meta.labels, ["0", "1", "2"]);
  assert.deepEqual(meta.metrics, { accuracy: 0.987 });
  assert.deepEqual(meta.data, { name: "mnist", train: 60000 });
  assert.deepEqual(meta.input.shape, [8, 8, 3]);
  assert.equal(meta.input.layout, "NHWC");
  assert.deepEqual(meta.input.preprocessing, {
    normalize: { mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3], inGraph: true },
  });
  assert.equal(meta.weightsSha256, weightsSha256(weights));
  assert.deepEqual(meta.spec, resnetLike);
  assert.deepEqual(
    meta.outputs.map((o) => o.name),
    ["embedding", NORMALIZED_OUTPUT],
  );

  const raw = await loadOnnxModel(file);
  const unit = await loadOnnxModel(file, { output: NORMALIZED_OUTPUT });
  const images = randomImages(2, [8, 8, 3], 3);
  const a = await raw.run(images, 2);
  const b = await unit.run(images, 2);
  for (let row = 0; row < 2; row++) {
    const v = a.subarray(row * 6, row * 6 + 6);
    const norm = Math.hypot(...v);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(b[row * 6 + i] - v[i] / norm) < 1e-5);
  }
  assert.deepEqual(raw.inputShape, [8, 8, 3]);
  assert.equal(raw.outputDim, 6);
  await assert.rejects(
    raw.run(new Float32Array(10), 1),
    /input has 10 values; expected 1 × \[8×8×3\]/,
  );
  await assert.rejects(raw.run(images, 0), /batch size must be a positive integer/);
  await raw.close();
  await unit.close();
});

test("a classifier gets default labels and the logits output", async () => {
  const file = join(dir, "taylor.onnx");
  await writeOnnxModel(file, directTaylor, randomWeights(directTaylor, 1), { version: "3" });
  const meta = await readOnnxModelMetadata(file);
  assert.equal(meta.role, "classifier");
  assert.deepEqual(meta.labels, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  assert.deepEqual(meta.outputs, [{ name: "logits", shape: [10] }]);
});

test("corrupted and truncated files give a clear error naming the file", async () => {
  const good = join(dir, "good.onnx");
  await writeOnnxModel(good, directTaylor, randomWeights(directTaylor, 1));
  const bytes = await readFile(good);
  const truncated = join(dir, "truncated.onnx");
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(loadOnnxModel(truncated), (e: Error) => {
    assert.match(e.message, /truncated\.onnx: not a valid ONNX model/);
    return true;
  });
  const corrupted = join(dir, "corrupted.onnx");
  const noise = Buffer.from(bytes);
  for (let i = 0; i < 64; i++) noise[i] = (i * 37 + 11) & 0xff;
  await writeFile(corrupted, noise);
  await assert.rejects(loadOnnxModel(corrupted), /corrupted\.onnx: /);
  await assert.rejects(loadOnnxModel(join(dir, "missing.onnx")), /missing\.onnx: cannot read/);
});

test("exported graphs pass the checker, and each broken rule is reported", () => {
  const spec = taylorLike(false);
  const model = buildOnnxModel(spec, randomWeights(spec, 1));
  assert.deepEqual(checkModel(model), []);
  assert.deepEqual(checkModel(decodeModel(encodeModel(model))), []);

  const clone = () => decodeModel(encodeModel(model));
  const dup = clone();
  const nodes = dup.graph!.node!;
  nodes[3].output![0] = nodes[2].output![0];
  assert.ok(checkModel(dup).some((e) => /assigned more than once/.test(e)));

  const dangling = clone();
  dangling.graph!.node![1].input![0] = "nowhere";
  assert.ok(checkModel(dangling).some((e) => /reads nowhere, produced by no earlier node/.test(e)));

  const badInit = clone();
  badInit.graph!.initializer![0].dims = [12345];
  assert.ok(checkModel(badInit).some((e) => /values for dims \[12345\]/.test(e)));

  const untyped = clone();
  untyped.graph!.input![0].type = null;
  assert.ok(checkModel(untyped).some((e) => /graph input input is not a typed tensor/.test(e)));

  const noOut = clone();
  noOut.graph!.output![0].name = "ghost";
  assert.ok(checkModel(noOut).some((e) => /graph output ghost is never produced/.test(e)));
});

test("cgMode auto uses per-term MatMuls only for layers with large feature maps", () => {
  const opsOf = (spec: ModelSpec) =>
    new Set(buildOnnxModel(spec, randomWeights(spec, 1)).graph!.node!.map((n) => n.opType));
  const big = opsOf(taylorNetSpec("mnist28", { width: 24 }));
  assert.ok(big.has("MatMul") && big.has("Sum"));
  const small = opsOf(taylorNetSpec("mnist7", { width: 4 }));
  assert.ok(!small.has("MatMul") && small.has("Concat"));
});

test("export refuses weights that do not match the spec", () => {
  const weights = randomWeights(directTaylor, 1);
  delete weights["2.bias"];
  assert.throws(() => buildOnnxModel(directTaylor, weights), /missing weight 2\.bias/);
});
