import assert from "node:assert/strict";
import { test } from "node:test";
import { angleReport, classifyByReferences } from "../src/eval/angle.js";
import {
  accuracy,
  classMeans,
  cosine,
  nearestByCosineExact,
  normalizeRows,
  topK,
} from "../src/eval/cosine.js";
import { nearestByCosine } from "../src/eval/nearest.js";
import { gaussian, rng } from "../src/util/random.js";

function randomRows(rows: number, dim: number, seed: number): Float32Array {
  const normal = gaussian(rng(seed));
  return Float32Array.from({ length: rows * dim }, normal);
}

test("cosine and normalizeRows agree with hand values", () => {
  assert.equal(cosine([1, 0], [0, 3]), 0);
  assert.ok(Math.abs(cosine([3, 4], [6, 8]) - 1) < 1e-12);
  assert.ok(Math.abs(cosine([1, 1], [1, 0]) - Math.SQRT1_2) < 1e-12);
  assert.equal(cosine([0, 0], [1, 0]), 0);
  assert.throws(() => cosine([1], [1, 2]), /differ/);
  assert.deepEqual(
    Array.from(normalizeRows(Float32Array.of(3, 4, 0, 0), 2)),
    [0.6, 0.8, 0, 0].map(Math.fround),
  );
});

test("topK returns the k best, best first, ties by lower index", () => {
  assert.deepEqual(topK([0.1, 0.9, 0.5, 0.9, -1], 3), [
    { index: 1, score: 0.9 },
    { index: 3, score: 0.9 },
    { index: 2, score: 0.5 },
  ]);
  assert.deepEqual(
    topK([2, 1], 5).map((r) => r.index),
    [0, 1],
  );
  assert.deepEqual(topK([], 2), []);
});

test("classMeans averages unit embeddings per class; accuracy counts matches", () => {
  const emb = Float32Array.of(2, 0, 0, 5, 0, 1, 4, 0);
  const means = classMeans(emb, [0, 1, 1, 0], 2, 2);
  assert.deepEqual(Array.from(means), [1, 0, 0, 1]);
  assert.throws(() => classMeans(emb, [0, 0, 0, 0], 2, 2), /class 1 has no examples/);
  assert.equal(accuracy([1, 2, 3, 4], [1, 2, 0, 4]), 0.75);
  assert.throws(() => accuracy([1], [1, 2]), /predictions/);
});

test("blocked nearestByCosine matches the exact search on random data", () => {
  const dim = 16;
  const queries = randomRows(37, dim, 1);
  const refs = randomRows(101, dim, 2);
  const exact = nearestByCosineExact(queries, refs, dim);
  const blocked = nearestByCosine(queries, refs, dim, 8);
  assert.deepEqual(Array.from(blocked.index), Array.from(exact.index));
  blocked.similarity.forEach((s, i) => {
    assert.ok(Math.abs(s - exact.similarity[i]) < 1e-5);
  });
  // A query equal to a scaled reference finds it with similarity 1.
  const hit = nearestByCosine(
    refs.slice(5 * dim, 6 * dim).map((v) => v * 7),
    refs,
    dim,
  );
  assert.equal(hit.index[0], 5);
  assert.ok(Math.abs(hit.similarity[0] - 1) < 1e-5);
});

test("angleReport classifies by the nearest reference and computes both baselines", () => {
  // Three classes along three axes in 4-d; queries are noisy copies, one mislabelled.
  const dim = 4;
  const axis = (c: number, noise: number) =>
    Array.from({ length: dim }, (_, d) => (d === c ? 1 : 0) + (d === 3 ? noise : 0));
  const test = {
    embeddings: Float32Array.from([0, 1, 2, 0, 1].flatMap((c, i) => axis(c, 0.1 * i))),
    labels: Uint8Array.of(0, 1, 2, 0, 2),
  };
  const train = {
    embeddings: Float32Array.from([0, 0, 1, 1, 2, 2].flatMap((c, i) => axis(c, -0.05 * i))),
    labels: Uint8Array.of(0, 0, 1, 1, 2, 2),
  };
  const level5 = {
    level: 5,
    embeddings: Float32Array.from([...axis(0, 0), ...axis(1, 0), ...axis(2, 0)]),
    labels: Uint8Array.of(0, 1, 2),
  };
  // A level whose references are wrongly labelled: class 0's reference says 1.
  const bad = { level: 1, embeddings: level5.embeddings, labels: Uint8Array.of(1, 1, 2) };
  assert.deepEqual(Array.from(classifyByReferences(test.embeddings, level5, dim)), [0, 1, 2, 0, 1]);
  const report = angleReport({ dim, classes: 3, test, levels: [bad, level5], train });
  assert.equal(report.testImages, 5);
  assert.deepEqual(report.levels, [
    { level: 1, references: 3, accuracy: 0.4 },
    { level: 5, references: 3, accuracy: 0.8 },
  ]);
  assert.deepEqual(report.classMean, { trainingImages: 6, accuracy: 0.8 });
  assert.deepEqual(report.nearestNeighbour, { trainingImages: 6, accuracy: 0.8 });
  assert.equal(angleReport({ dim, classes: 3, test, levels: [level5] }).classMean, undefined);
});
