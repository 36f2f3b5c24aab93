// Pointing a models manifest at a reference set: sha256, levels, default level, and refusals.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readManifest, sha256File } from "../src/models/manifest.js";
import { type ReferenceSet, writeReferenceSet } from "../src/references/reference-set.js";
import { registerReferences } from "../src/references/register.js";

const set: ReferenceSet = {
  version: "v7",
  classes: ["a", "b"],
  levels: [1, 2, 3].map((level) => ({
    level,
    count: 2,
    images: Float32Array.from({ length: 2 * 4 }, (_, i) => (i % 5) / 4),
    labels: Uint8Array.from([0, 1]),
  })),
  height: 2,
  width: 2,
  channels: 1,
  provenance: {},
};

const embedder = {
  file: "e.onnx",
  sha256: "0".repeat(64),
  role: "embedder",
  format: "onnx",
  version: "1",
  input: { shape: [2, 2, 1], layout: "NHWC", range: [0, 1] },
  output: { name: "embedding", shape: [4] },
  labels: ["a", "b"],
};

async function modelsDir(fn: (dir: string, file: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-register-"));
  try {
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ models: { emb: embedder } }));
    const file = join(dir, "refs.safetensors");
    await writeReferenceSet(file, set);
    await fn(dir, file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("registering writes the file's sha256, levels and default level, and keeps that default", () =>
  modelsDir(async (dir, file) => {
    await registerReferences(dir, file, set, { defaultLevel: 2, command: "first" });
    let refs = (await readManifest(dir)).references;
    assert.equal(refs?.file, "refs.safetensors");
    assert.equal(refs?.sha256, await sha256File(file));
    assert.equal(refs?.embedder, "emb");
    assert.deepEqual(refs?.levels, [1, 2, 3]);
    assert.equal(refs?.defaultLevel, 2);
    await registerReferences(dir, file, set, { command: "refresh" });
    refs = (await readManifest(dir)).references;
    assert.equal(refs?.defaultLevel, 2, "a refresh keeps the chosen default level");
    assert.equal(refs?.command, "refresh");
  }));

test("registering refuses a default level the set lacks, a file outside the dir, an unknown embedder", () =>
  modelsDir(async (dir, file) => {
    await assert.rejects(
      registerReferences(dir, file, set, { defaultLevel: 5, command: "x" }),
      /default level 5 is not among the set's levels 1,2,3/,
    );
    await assert.rejects(
      registerReferences(dir, join(tmpdir(), "elsewhere.safetensors"), set, { command: "x" }),
      /must lie inside/,
    );
    await assert.rejects(
      registerReferences(dir, file, set, { embedder: "nope", command: "x" }),
      /has no model "nope"/,
    );
    assert.equal((await readManifest(dir)).references, undefined, "nothing was written");
  }));

test("a set that lacks the manifest's default level gets its top level; an explicit one is kept", () =>
  modelsDir(async (dir, file) => {
    await registerReferences(
      dir,
      file,
      {
        ...set,
        levels: [...set.levels, { ...set.levels[2], level: 4 }, { ...set.levels[2], level: 5 }],
      },
      { defaultLevel: 5, command: "five levels" },
    );
    assert.equal((await readManifest(dir)).references?.defaultLevel, 5);
    await registerReferences(dir, file, set, { command: "three levels" });
    assert.equal((await readManifest(dir)).references?.defaultLevel, 3, "the set's top level");
    await registerReferences(dir, file, set, { defaultLevel: 1, command: "explicit" });
    await registerReferences(dir, file, set, { command: "refresh" });
    assert.equal((await readManifest(dir)).references?.defaultLevel, 1, "kept while present");
  }));
