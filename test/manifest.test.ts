import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  type ModelEntry,
  readManifest,
  sha256File,
  updateManifest,
  verifyFile,
} from "../src/models/manifest.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-manifest-"));
  dirs.push(dir);
  return dir;
}
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function model(file: string, sha256: string): ModelEntry {
  return {
    file,
    sha256,
    role: "embedder",
    format: "onnx",
    version: "1",
    input: { shape: [28, 28, 1], layout: "NHWC", range: [0, 1], preprocessing: { frame: true } },
    output: { name: "embedding", shape: [16] },
    labels: ["0", "1"],
    metrics: {},
  };
}

test("sha256File matches the known digest of 'abc'", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "a.txt"), "abc");
  assert.equal(
    await sha256File(join(dir, "a.txt")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

test("updateManifest creates, keeps unknown fields, and readManifest reads it back", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "e.onnx"), "model");
  const sha = await sha256File(join(dir, "e.onnx"));
  await updateManifest(dir, (m) => {
    m.models.emb = model("e.onnx", sha);
    return { ...m, sheets: ["a.png"] };
  });
  await updateManifest(dir, (m) => {
    m.references = {
      file: "r.safetensors",
      sha256: sha,
      version: "v1",
      embedder: "emb",
      levels: [1, 5],
    };
    return m;
  });
  const read = await readManifest(dir);
  assert.equal(read.models.emb.sha256, sha);
  assert.equal(read.references?.version, "v1");
  assert.deepEqual((read as Record<string, unknown>).sheets, ["a.png"]);
  assert.equal(await verifyFile(dir, read.models.emb), join(dir, "e.onnx"));
});

test("concurrent updates are serialised by the lock: none is lost", async () => {
  const dir = await tempDir();
  const sha = "0".repeat(64);
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      updateManifest(dir, (m) => {
        m.models[`m${i}`] = model(`m${i}.onnx`, sha);
        return m;
      }),
    ),
  );
  assert.equal(Object.keys((await readManifest(dir)).models).length, 8);
});

test("readManifest names the file and the bad field", async () => {
  const dir = await tempDir();
  await assert.rejects(readManifest(dir), /manifest\.json: no manifest/);
  await writeFile(join(dir, "manifest.json"), "{not json");
  await assert.rejects(readManifest(dir), /manifest\.json: not valid JSON/);
  const bad = { models: { x: { ...model("x.onnx", "abc"), role: "other" } } };
  await writeFile(join(dir, "manifest.json"), JSON.stringify(bad));
  await assert.rejects(readManifest(dir), /models\.x\.sha256: .*64.*models\.x\.role/s);
  const refs = {
    models: {},
    references: { file: "r", sha256: "0".repeat(64), version: "v", embedder: "nope", levels: [5] },
  };
  await writeFile(join(dir, "manifest.json"), JSON.stringify(refs));
  await assert.rejects(readManifest(dir), /references\.embedder: names model "nope"/);
});

test("updateManifest refuses an invalid result and leaves the file unchanged", async () => {
  const dir = await tempDir();
  await updateManifest(dir, (m) => m);
  const before = await readFile(join(dir, "manifest.json"), "utf8");
  await assert.rejects(
    updateManifest(dir, (m) => {
      m.models.bad = { ...model("../escape.onnx", "0".repeat(64)) };
      return m;
    }),
    /models\.bad\.file: must be a path relative/,
  );
  assert.equal(await readFile(join(dir, "manifest.json"), "utf8"), before);
});

test("verifyFile rejects a changed or missing file", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "e.onnx"), "model");
  const entry = { file: "e.onnx", sha256: "0".repeat(64) };
  await assert.rejects(verifyFile(dir, entry), /e\.onnx: sha256 mismatch/);
  await assert.rejects(
    verifyFile(dir, { ...entry, file: "gone.onnx" }),
    /gone\.onnx: cannot read \(ENOENT\)/,
  );
});
