// The worker pool and the micro-batcher give the same results as one direct session, batch
// concurrent requests, and keep the event loop free (pool) while inference runs.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createInferenceEngine } from "../src/inference/inference.js";
import { loadOnnxModel } from "../src/inference/runtime.js";
import { writeOnnxModel } from "../src/onnx/export.js";
import { randomImages, randomWeights, resnetLike } from "./onnx-fixtures.js";

let dir: string;
let file: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cgnn-onnx-engine-"));
  file = join(dir, "embedder.onnx");
  await writeOnnxModel(file, resnetLike, randomWeights(resnetLike, 5));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const engine of ["pool", "microbatch"] as const) {
  test(`${engine}: concurrent requests match one direct batch`, async () => {
    const direct = await loadOnnxModel(file);
    const n = 9;
    const images = randomImages(n, resnetLike.input, 11);
    const expected = await direct.run(images, n);
    await direct.close();
    const e = await createInferenceEngine(file, { engine, maxBatch: 4, workers: 2 });
    try {
      assert.deepEqual(e.inputShape, [8, 8, 3]);
      assert.equal(e.outputDim, 6);
      assert.equal(e.metadata.name, "resnet-like");
      const per = images.length / n;
      const sizes = [1, 3, 1, 2, 1, 1];
      let at = 0;
      const parts = sizes.map((k) => {
        const p = e.run(images.slice(at * per, (at + k) * per), k);
        at += k;
        return p;
      });
      const outputs = await Promise.all(parts);
      const joined = new Float32Array(n * 6);
      let o = 0;
      for (const out of outputs) {
        joined.set(out, o);
        o += out.length;
      }
      for (let i = 0; i < joined.length; i++) assert.ok(Math.abs(joined[i] - expected[i]) < 1e-5);
      await assert.rejects(e.run(new Float32Array(3), 1), /expected 1 × \[8×8×3\]/);
    } finally {
      await e.close();
    }
    await assert.rejects(e.run(images.slice(0, 192), 1), /closed/);
  });
}

test("pool: a broken model file fails at start with the file named", async () => {
  await assert.rejects(
    createInferenceEngine(join(dir, "nope.onnx"), { engine: "pool", workers: 1 }),
    /nope\.onnx: cannot read/,
  );
});
