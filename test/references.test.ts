import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  encodeReferenceSet,
  type ReferenceSet,
  readReferenceSet,
  referenceLevel,
  writeReferenceSet,
} from "../src/references/reference-set.js";

function sampleSet(): ReferenceSet {
  const level = (l: number, count: number) => ({
    level: l,
    count,
    images: Float32Array.from({ length: count * 4 * 3 }, (_, i) => ((i * 7 + l) % 11) / 10),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 3),
  });
  return {
    version: "test-1",
    classes: ["a", "b", "c"],
    levels: [level(1, 6), level(2, 3)],
    height: 2,
    width: 2,
    channels: 3,
    provenance: { seed: 7, data: "synthetic" },
  };
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-refs-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("a reference set survives a write/read round trip", () =>
  withDir(async (dir) => {
    const path = join(dir, "refs.safetensors");
    const set = sampleSet();
    await writeReferenceSet(path, set);
    const back = await readReferenceSet(path);
    assert.equal(back.version, "test-1");
    assert.deepEqual(back.classes, set.classes);
    assert.deepEqual([back.height, back.width, back.channels], [2, 2, 3]);
    assert.deepEqual(back.provenance, set.provenance);
    assert.deepEqual(
      back.levels.map((l) => [l.level, l.count]),
      [
        [1, 6],
        [2, 3],
      ],
    );
    for (const [i, l] of back.levels.entries()) {
      const original = set.levels[i].images;
      assert.equal(l.images.length, original.length);
      // Pixels are stored as 8-bit values: each comes back within half a step of 1/255.
      for (let p = 0; p < original.length; p++) {
        assert.ok(Math.abs(l.images[p] - original[p]) <= 0.5 / 255 + 1e-7, `pixel ${p}`);
      }
      assert.deepEqual(l.labels, set.levels[i].labels);
    }
    assert.equal(referenceLevel(back, 2).count, 3);
    assert.throws(() => referenceLevel(back, 5), /no level 5 \(has 1, 2\)/);
  }));

test("a truncated file fails with an error naming it", () =>
  withDir(async (dir) => {
    const path = join(dir, "cut.safetensors");
    await writeReferenceSet(path, sampleSet());
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(readReferenceSet(path), (e: Error) => {
      assert.match(e.message, /cut\.safetensors/);
      assert.match(e.message, /truncated/);
      return true;
    });
  }));

test("corrupt headers, wrong formats, bad labels and missing files are rejected", () =>
  withDir(async (dir) => {
    const garbage = join(dir, "garbage.safetensors");
    await writeFile(garbage, Buffer.from("not a safetensors file at all"));
    await assert.rejects(readReferenceSet(garbage), /garbage\.safetensors/);

    const wrongFormat = join(dir, "weights.safetensors");
    const bytes = encodeReferenceSet(sampleSet());
    const text = bytes.toString("latin1").replace("cgnn-references/1", "cgnn-references/9");
    await writeFile(wrongFormat, Buffer.from(text, "latin1"));
    await assert.rejects(readReferenceSet(wrongFormat), /weights\.safetensors: format is/);

    await assert.rejects(readReferenceSet(join(dir, "absent.safetensors")), /absent.*ENOENT/);

    const badLabel = sampleSet();
    badLabel.levels[0].labels[0] = 3;
    await assert.rejects(
      writeReferenceSet(join(dir, "bad.safetensors"), badLabel),
      /bad\.safetensors: level 1: label 3 outside 0\.\.2/,
    );
    const badPixel = sampleSet();
    badPixel.levels[1].images[0] = 1.5;
    assert.throws(() => encodeReferenceSet(badPixel), /level 2: pixel 1\.5 outside/);
    const badCount = sampleSet();
    badCount.levels[0].count = 5;
    assert.throws(() => encodeReferenceSet(badCount), /level 1: 72 pixels/);
  }));
