// Class names and preprocessing travel from the data set's checkpoint through export-onnx to the
// ONNX metadata and the manifest, where the service reads them back.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { preprocessingFor } from "../src/data/preprocess.js";
import { readManifest } from "../src/models/manifest.js";
import { readOnnxModelMetadata } from "../src/onnx/read-metadata.js";
import { saveCheckpoint } from "../src/train/checkpoint.js";
import { directTaylor, randomWeights } from "./onnx-fixtures.js";

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "cgnn-names-travel-"));
after(() => rm(dir, { recursive: true, force: true }));

test("a checkpoint's class names and preprocessing reach the ONNX metadata and the manifest", async () => {
  const checkpoint = join(dir, "ckpt.safetensors");
  const classes = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
  const preprocessing = { resize: "fit", pad: [0.5], invert: false };
  await saveCheckpoint(checkpoint, {
    spec: directTaylor,
    weights: randomWeights(directTaylor, 3),
    headWeights: {},
    optimizer: { step: 1, slots: {} },
    epoch: 1,
    config: { trainData: "folder:/data/words", trainCount: 60, classes, preprocessing },
    metrics: [{ epoch: 1 }],
    rng: { seed: 1, scheme: "test" },
  });
  const out = join(dir, "models", "named.onnx");
  await run(process.execPath, [
    ...["--import", "tsx", "scripts/export-onnx.ts"],
    ...["--checkpoint", checkpoint, "--out", out, "--name", "named", "--version", "1"],
    ...["--manifest", join(dir, "models")],
  ]);
  const meta = await readOnnxModelMetadata(out);
  assert.deepEqual(meta.labels, classes);
  assert.deepEqual(meta.input.preprocessing.resize, "fit");
  const entry = (await readManifest(join(dir, "models"))).models.named;
  assert.deepEqual(entry.labels, classes);
  const p = preprocessingFor(entry.input.shape, entry.input.preprocessing);
  assert.deepEqual(
    { resize: p.resize, pad: p.pad, frame: p.frame, invert: p.invert },
    { resize: "fit", pad: [0.5], frame: undefined, invert: false },
  );
});
