// The training engine's denormal flush holds when its NCHWc block-size probe is the process's
// first onnxruntime session (onnxruntime takes the flush from the first session only): without
// it the order-4 direct Taylor step ran 4× slower. Its own process, so no session came before.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ModelSpec } from "../src/nn/spec.js";
import { initWeights } from "../src/nn/weights.js";
import { OrtGradients } from "../src/train/ort/engine.js";

const spec: ModelSpec = {
  name: "denormal-dense",
  input: [1, 1, 4],
  output: "logits",
  layers: [{ kind: "flatten" }, { kind: "dense", units: 3 }],
};

test("the first training session flushes denormal inputs to zero", async (t) => {
  if (process.arch !== "x64") return t.skip("denormals-as-zero is an x86 mode");
  // Every pixel 1e-39, below float32's smallest normal (1.18e-38), written before any session
  // exists (the flush also holds for JS's own float32 stores on this thread once it is on): read
  // as 0 with the flush, so the kernel gradient (pixels × dlogits) is exactly 0; without it, ≈ 1e-40.
  const images = new Float32Array(2 * 4).fill(1e-39);
  assert.ok(images[0] > 0, "the test's input is a (nonzero) denormal");
  const engine = await OrtGradients.create(
    { spec, classes: 3, trainable: ["1.kernel", "1.bias"] },
    { threads: 1 },
  );
  try {
    const out = await engine.compute(initWeights(spec, 1), {
      images,
      labels: Uint8Array.of(0, 2),
      count: 2,
    });
    assert.ok(
      out.grads["1.bias"].some((v) => v !== 0),
      "the step ran (nonzero bias gradient)",
    );
    assert.deepEqual([...out.grads["1.kernel"]], new Array(12).fill(0));
  } finally {
    await engine.close();
  }
});
