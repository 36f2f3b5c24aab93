import assert from "node:assert/strict";
import { test } from "node:test";
import { bruteForceSearch, CosineIndex } from "../src/index/cosine-index.js";
import { ReferenceIndex } from "../src/index/reference-index.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomMatrix(rows: number, dim: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: rows * dim }, r);
}

test("hnswlib answers agree with exact brute-force cosine search", () => {
  const dim = 32;
  const data = randomMatrix(2000, dim, 1);
  const index = CosineIndex.build(data, dim);
  const queries = randomMatrix(100, dim, 2);
  let found = 0;
  for (let q = 0; q < 100; q++) {
    const query = queries.subarray(q * dim, (q + 1) * dim);
    const approx = index.search(query, 10);
    const exact = bruteForceSearch(data, dim, query, 10);
    assert.equal(approx.length, 10);
    for (let i = 1; i < approx.length; i++)
      assert.ok(approx[i - 1].similarity >= approx[i].similarity);
    const exactIds = new Set(exact.map((h) => h.id));
    found += approx.filter((h) => exactIds.has(h.id)).length;
    for (const hit of approx) {
      const truth = bruteForceSearch(data, dim, query, 2000).find((h) => h.id === hit.id)!;
      assert.ok(
        Math.abs(truth.similarity - hit.similarity) < 1e-5,
        "similarity is 1 - cosine distance",
      );
    }
  }
  assert.ok(found / 1000 >= 0.98, `recall@10 ${found / 1000}`);
});

test("search clamps k to the index size, handles a zero query, and rejects a wrong dimension", () => {
  const data = new Float32Array([1, 0, 0, 1, -1, 0]);
  const index = CosineIndex.build(data, 2);
  const hits = index.search([2, 0], 10);
  assert.deepEqual(
    hits.map((h) => h.id),
    [0, 1, 2],
  );
  assert.ok(Math.abs(hits[0].similarity - 1) < 1e-6);
  assert.ok(Math.abs(hits[2].similarity + 1) < 1e-6);
  assert.deepEqual(
    index.search([0, 0], 2).map((h) => h.similarity),
    [0, 0],
  );
  assert.throws(() => index.search([1, 0, 0], 1), /3 values, index has 2/);
  assert.throws(() => CosineIndex.build(new Float32Array(5), 2), /not a multiple/);
});

test("ReferenceIndex embeds each level and labels neighbours by class name", async () => {
  const set = {
    version: "v1",
    classes: ["zero", "one"],
    height: 1,
    width: 2,
    channels: 1,
    levels: [
      {
        level: 1,
        images: new Float32Array([1, 0, 0.9, 0.1, 0, 1]),
        labels: new Uint8Array([0, 0, 1]),
        count: 3,
      },
      {
        level: 5,
        images: new Float32Array([1, 0, 0, 1]),
        labels: new Uint8Array([0, 1]),
        count: 2,
      },
    ],
  };
  const calls: number[] = [];
  const embed = async (images: Float32Array, n: number) => {
    calls.push(n);
    return images.slice();
  };
  const refs = await ReferenceIndex.build(set, embed, 2);
  assert.deepEqual(calls, [3, 2]);
  assert.deepEqual(refs.levelNumbers, [1, 5]);
  const top = refs.search(5, [0.1, 0.9], 2);
  assert.equal(top[0].label, "one");
  assert.equal(top[0].referenceId, 1);
  assert.equal(top[0].level, 5);
  assert.equal(refs.search(1, [1, 0.05], 1)[0].label, "zero");
  assert.throws(() => refs.search(3, [1, 0], 1), /no level 3/);
  await assert.rejects(
    ReferenceIndex.build(set, async () => new Float32Array(1), 2),
    /returned 1 values for 3 images/,
  );
});
