// The pool's runImages (decode and frame in the worker) gives what main-thread preprocessing plus
// run gives, answers each request of a shared batch on its own, and reports image errors as ImageErrors.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { ImageError, imageToModelInput } from "../src/data/image.js";
import { createInferenceEngine } from "../src/inference/inference.js";
import { acceptsImages, type ImageInferenceEngine } from "../src/inference/pool.js";
import { stackInputs } from "../src/service/preprocess.js";
import { buildModelsDir, digitJpeg, digitPng, type Fixture } from "./service-fixture.js";

let fixture: Fixture;
let pool: ImageInferenceEngine;
before(async () => {
  fixture = await buildModelsDir();
  const engine = await createInferenceEngine(join(fixture.dir, "embedder.onnx"), {
    engine: "pool",
    workers: 1,
    maxBatch: 64,
  });
  assert.ok(acceptsImages(engine));
  pool = engine;
});
after(async () => {
  await pool?.close();
  await fixture?.cleanup();
});

const options = { maxPixels: 1_000_000, invert: "auto" as const, frame: true };

test("runImages matches main-thread preprocessing then run, per request of one batch", async () => {
  const uploads = [
    [await digitPng(0)],
    [await digitJpeg(1, { invert: true, scale: 3 }), await digitPng(2, { scale: 2 })],
    [await digitPng(3, { invert: true, scale: 4 })],
  ];
  const results = await Promise.all(uploads.map((images) => pool.runImages(images, options)));
  for (const [r, images] of uploads.entries()) {
    const inputs = await Promise.all(images.map((b) => imageToModelInput(b, [28, 28, 1], options)));
    const expected = await pool.run(stackInputs(inputs), inputs.length);
    const got = results[r];
    assert.equal(got.output.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.ok(Math.abs(got.output[i] - expected[i]) < 1e-5, `request ${r}, value ${i}`);
    }
    assert.deepEqual(
      got.inputs,
      inputs.map(({ inverted, framed }) => ({ inverted, framed })),
    );
  }
  assert.deepEqual(
    results.map((r) => r.inputs.map((i) => i.inverted)),
    [[false], [true, false], [true]],
  );
});

test("a bad image rejects its own request with the ImageError; the rest of the batch is served", async () => {
  const good = await digitPng(4);
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>');
  const tiny = await sharp({ create: { width: 2, height: 2, channels: 3, background: "#000" } })
    .png()
    .toBuffer();
  const cases = [
    { images: [good, Buffer.from("not an image")], code: "undecodable", status: 400 },
    { images: [svg], code: "unsupported_type", status: 415 },
    { images: [tiny], code: "too_small", status: 422 },
  ];
  const settled = await Promise.allSettled([
    ...cases.map((c) => pool.runImages(c.images, options)),
    pool.runImages([good], options),
    pool.runImages([good], { ...options, maxPixels: 100 }),
  ]);
  for (const [i, c] of cases.entries()) {
    const s = settled[i];
    assert.equal(s.status, "rejected");
    const error = (s as PromiseRejectedResult).reason;
    assert.ok(error instanceof ImageError, String(error));
    assert.deepEqual([error.code, error.status], [c.code, c.status]);
  }
  const served = settled[cases.length];
  assert.equal(served.status, "fulfilled");
  assert.equal(
    (served as PromiseFulfilledResult<{ output: Float32Array }>).value.output.length,
    64,
  );
  const limited = settled[cases.length + 1] as PromiseRejectedResult;
  assert.equal((limited.reason as ImageError).status, 413);
});

/** Nice value of each thread of this process (field 19 of /proc/self/task/TID/stat). */
function threadNiceness(): number[] {
  return readdirSync("/proc/self/task").map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

test("inference workers run 5 nice levels below the main thread", {
  skip: process.platform !== "linux",
}, () => {
  const main = Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")[16]);
  assert.ok(threadNiceness().includes(Math.min(19, main + 5)), `threads: ${threadNiceness()}`);
});
