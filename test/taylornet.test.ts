// TaylorNet specs: shapes infer, parameter budgets, no activations, the CG→conv ablation, and
// short trainings (tiny widths, synthetic data) whose loss goes down.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { Dataset } from "../src/data/dataset.js";
import { initBackend } from "../src/nn/backend.js";
import { countParams, inferShapes, outputShape } from "../src/nn/spec.js";
import { ablateCg, TAYLORNET_ARCHS, taylorNetSpec } from "../src/nn/taylornet.js";
import { train } from "../src/train/trainer.js";
import { rng } from "../src/util/random.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

test("every arch infers its shapes down to 10 logits, with no activation layers", () => {
  for (const arch of TAYLORNET_ARCHS) {
    for (const ablate of [false, true]) {
      const spec = taylorNetSpec(arch, { ablate });
      assert.deepEqual(outputShape(spec), [10]);
      assert.equal(spec.layers[0].kind, "normalize");
      assert.ok(!spec.layers.some((l) => l.kind === "relu"), `${arch}: no activation`);
      assert.equal(
        spec.layers.some((l) => l.kind === "cg"),
        !ablate,
      );
    }
  }
  const shapes = inferShapes(taylorNetSpec("mnist28").layers, [28, 28, 1]).map((s) => s.join("x"));
  // Fig. 5: 28 → CG 14 → diCG1 7 → diCG2 4 → CG 2 → Linear(2·2·64 → 10).
  assert.deepEqual(
    shapes.filter((_, i) => taylorNetSpec("mnist28").layers[i].kind === "cg"),
    ["14x14x64", "7x7x64", "4x4x64", "2x2x64"],
  );
});

test("parameter budgets: mnist7 ≤ 248k, mnist28 ≈ 344k (Fig. 5), cifar10 ≈ 1.2M", () => {
  const mnist7 = countParams(taylorNetSpec("mnist7"));
  assert.ok(mnist7 <= 248_000, `${mnist7}`);
  assert.ok(mnist7 > 150_000, `${mnist7}`);
  assert.equal(countParams(taylorNetSpec("mnist28", { batchNorm: false })), 343_626);
  const cifar = countParams(taylorNetSpec("cifar10"));
  assert.ok(cifar > 1_100_000 && cifar < 1_300_000, `${cifar}`);
  // Higher order: more terms per CG.
  assert.ok(countParams(taylorNetSpec("mnist7", { order: 3 })) > mnist7);
  assert.ok(countParams(taylorNetSpec("mnist7", { width: 8 })) < 5_000);
});

test("ablateCg keeps kernel, stride, dilation, padding and filters of every CG", () => {
  const spec = taylorNetSpec("mnist28");
  const ablated = ablateCg(spec);
  spec.layers.forEach((layer, i) => {
    const swapped = ablated.layers[i];
    if (layer.kind !== "cg") {
      assert.deepEqual(swapped, layer);
      return;
    }
    assert.equal(swapped.kind, "conv2d");
    if (swapped.kind !== "conv2d") return;
    assert.equal(swapped.kernel, layer.kernel);
    assert.equal(swapped.stride, layer.stride ?? 1);
    assert.equal(swapped.dilation, layer.dilation ?? 1);
    assert.equal(swapped.padding, layer.padding ?? "valid");
    assert.equal(swapped.filters, layer.filters);
  });
  assert.deepEqual(inferShapes(ablated.layers, [28, 28, 1]), inferShapes(spec.layers, [28, 28, 1]));
  assert.throws(() => taylorNetSpec("resnet"), /unknown TaylorNet arch/);
});

/** Images whose class is readable from the pixels: class k brightens the k-th band of rows. */
function synthetic(count: number, [h, w, c]: [number, number, number], seed: number): Dataset {
  const random = rng(seed);
  const images = new Float32Array(count * h * w * c);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    labels[i] = label;
    for (let p = 0; p < h * w * c; p++) {
      const row = Math.floor(p / (w * c));
      const band = Math.floor((row * 10) / h) === label ? 0.6 : 0;
      images[i * h * w * c + p] = Math.min(1, band + 0.4 * random());
    }
  }
  return {
    name: "synthetic",
    images,
    labels,
    count,
    height: h,
    width: w,
    channels: c,
    classes: Array.from({ length: 10 }, (_, k) => `${k}`),
  };
}

for (const arch of ["cifar10", "mnist7"] as const) {
  test(`${arch} (tiny width) trains a few steps on synthetic data and the loss goes down`, async () => {
    const spec = taylorNetSpec(arch, { width: 4 });
    const data = synthetic(arch === "cifar10" ? 20 : 40, spec.input, 1);
    const result = await train({
      spec,
      train: data,
      epochs: 4,
      batchSize: 10,
      lr: 0.01,
      seed: 3,
      progress: "none",
    });
    const losses = result.history.map((h) => h.loss);
    assert.equal(losses.length, 4);
    assert.ok(losses.every(Number.isFinite));
    assert.ok(losses[3] < losses[0], `loss ${losses.map((l) => l.toFixed(3)).join(" → ")}`);
  });
}
