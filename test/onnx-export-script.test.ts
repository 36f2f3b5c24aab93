// scripts/export-onnx.ts: checkpoint → .onnx + manifest entry; bad input ends with one line, exit 2.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { readManifest, sha256File } from "../src/models/manifest.js";
import { readOnnxModelMetadata } from "../src/onnx/read-metadata.js";
import { saveCheckpoint } from "../src/train/checkpoint.js";
import { directTaylor, randomWeights } from "./onnx-fixtures.js";

const run = promisify(execFile);
const script = ["--import", "tsx", "scripts/export-onnx.ts"];
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cgnn-export-script-"));
});
after(() => rm(dir, { recursive: true, force: true }));

test("exports a checkpoint and records it in the manifest", async () => {
  const checkpoint = join(dir, "ckpt.safetensors");
  await saveCheckpoint(checkpoint, {
    spec: directTaylor,
    weights: randomWeights(directTaylor, 3),
    headWeights: {},
    optimizer: { step: 3, slots: { "m.2.kernel": new Float32Array(4) } },
    epoch: 2,
    config: { trainData: "mnist7", trainCount: 600 },
    metrics: [{ epoch: 1 }, { epoch: 2, testAccuracy: 0.91 }],
    rng: { seed: 1, scheme: "test" },
  });
  const out = join(dir, "models", "taylor.onnx");
  const labels = "0,1,2,3,4,5,6,7,8,9";
  const { stdout } = await run(process.execPath, [
    ...script,
    ...["--checkpoint", checkpoint, "--out", out, "--name", "taylor", "--version", "2"],
    ...["--labels", labels, "--manifest", join(dir, "models")],
  ]);
  assert.equal(JSON.parse(stdout).name, "taylor");
  const meta = await readOnnxModelMetadata(out);
  assert.deepEqual(meta.metrics, { epoch: 2, testAccuracy: 0.91 });
  assert.deepEqual(meta.labels, labels.split(","));
  const manifest = await readManifest(join(dir, "models"));
  const entry = manifest.models.taylor;
  assert.equal(entry.file, "taylor.onnx");
  assert.equal(entry.sha256, await sha256File(out));
  assert.equal(entry.role, "classifier");
  assert.deepEqual(entry.output, { name: "logits", shape: [10] });
  assert.deepEqual(entry.data, { name: "mnist7", count: 600 });
  assert.ok((await readFile(out)).length > 0);
});

test("bad flags and missing checkpoints end with one line and exit code 2", async () => {
  for (const args of [
    ["--bogus"],
    [
      "--checkpoint",
      join(dir, "none.safetensors"),
      "--out",
      "x.onnx",
      "--name",
      "n",
      "--version",
      "1",
    ],
  ]) {
    await assert.rejects(
      run(process.execPath, [...script, ...args]),
      (e: Error & { code: number; stderr: string }) => {
        assert.equal(e.code, 2);
        assert.match(e.stderr, /^export-onnx: /);
        assert.ok(!e.stderr.includes("    at "), "no stack trace");
        return true;
      },
    );
  }
});
