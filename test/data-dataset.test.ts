import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  batchOf,
  type Dataset,
  indicesByClass,
  shuffledIndices,
  subset,
  take,
  trainValidationSplit,
} from "../src/data/dataset.js";
import { DataError } from "../src/data/errors.js";
import { encodeIdx } from "../src/data/idx.js";
import { loadDataset, parseDatasetName } from "../src/data/load.js";
import {
  applyNormalization,
  CIFAR10_NORMALIZATION,
  computeNormalization,
  normalizationFor,
} from "../src/data/normalize.js";

/** n images of 2×2×1 whose pixels all equal the index; labels index % 3. */
function toy(n: number): Dataset {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i, i * 4, i * 4 + 4);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  return {
    name: "toy",
    images,
    labels,
    count: n,
    height: 2,
    width: 2,
    channels: 1,
    classes: ["a", "b", "c"],
  };
}

test("shuffledIndices is a seeded permutation", () => {
  const a = shuffledIndices(100, 42);
  assert.deepEqual(a, shuffledIndices(100, 42));
  assert.notDeepEqual(a, shuffledIndices(100, 43));
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual(
    [...a],
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test("batchOf and subset copy the chosen examples in order", () => {
  const d = toy(10);
  const b = batchOf(d, [7, 2]);
  assert.deepEqual([...b.images], [7, 7, 7, 7, 2, 2, 2, 2]);
  assert.deepEqual([...b.labels], [1, 2]);
  const s = subset(d, Uint32Array.from([9]));
  assert.deepEqual([s.count, s.images[0], s.labels[0], s.height], [1, 9, 0, 2]);
  assert.throws(() => batchOf(d, [10]), RangeError);
});

test("take returns the first n examples", () => {
  const t = take(toy(10), 3);
  assert.deepEqual([t.count, t.images.length, ...t.labels], [3, 12, 0, 1, 2]);
  assert.equal(take(toy(2), 5).count, 2);
});

test("trainValidationSplit partitions deterministically", () => {
  const d = toy(50);
  const { train, validation } = trainValidationSplit(d, 0.2, 1);
  assert.equal(validation.count, 10);
  assert.equal(train.count, 40);
  const ids = (x: Dataset) => Array.from({ length: x.count }, (_, i) => x.images[i * 4]);
  const all = [...ids(train), ...ids(validation)].sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(ids(trainValidationSplit(d, 0.2, 1).validation), ids(validation));
  assert.notDeepEqual(ids(trainValidationSplit(d, 0.2, 2).validation), ids(validation));
  assert.throws(() => trainValidationSplit(d, 1, 1), RangeError);
});

test("indicesByClass groups example indices", () => {
  assert.deepEqual(indicesByClass(toy(7)), [
    [0, 3, 6],
    [1, 4],
    [2, 5],
  ]);
});

test("normalisation constants, computed statistics and their application", () => {
  assert.deepEqual(normalizationFor("cifar10"), CIFAR10_NORMALIZATION);
  assert.deepEqual(normalizationFor("mnist"), { mean: [0.1307], std: [0.3081] });
  assert.throws(() => normalizationFor("idx:/x"), DataError);
  const d = toy(2); // pixels 0,0,0,0,1,1,1,1: mean 0.5, std 0.5
  assert.deepEqual(normalizationFor("idx:/x", d), { mean: [0.5], std: [0.5] });
  const rgb = Float32Array.from([0.4914, 0.4822, 0.4465, 0.7384, 0.7257, 0.7081]);
  const z = applyNormalization(rgb, 3, CIFAR10_NORMALIZATION);
  for (let i = 0; i < 3; i++)
    assert.ok(Math.abs(z[i]) < 1e-6 && Math.abs(z[i + 3] - 1) < 1e-4, `${z}`);
  const stats = computeNormalization({
    ...toy(1),
    images: rgb.slice(0, 6),
    channels: 3,
    height: 1,
    width: 2,
  });
  assert.ok(Math.abs(stats.mean[0] - (0.4914 + 0.7384) / 2) < 1e-6);
});

test("parseDatasetName accepts the known names and idx:DIR only", () => {
  for (const n of ["mnist", "mnist7", "fashion", "cifar10", "idx:/data/x"])
    assert.equal(parseDatasetName(n), n);
  assert.throws(
    () => parseDatasetName("imagenet"),
    /unknown data set "imagenet"; expected one of mnist, mnist7/,
  );
  assert.throws(() => parseDatasetName("idx:"), DataError);
});

test("loadDataset: fashion from CGNN_FASHION_DIR with its class names, clear error without", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-fashion-"));
  try {
    await writeFile(
      join(dir, "t10k-images-idx3-ubyte"),
      encodeIdx([2, 1, 1], Uint8Array.from([0, 255])),
    );
    await writeFile(join(dir, "t10k-labels-idx1-ubyte"), encodeIdx([2], Uint8Array.from([9, 0])));
    const f = await loadDataset("fashion", "test", { env: { CGNN_FASHION_DIR: dir } });
    assert.deepEqual([f.name, f.classes[f.labels[0]], f.images[1]], ["fashion", "Ankle boot", 1]);
    const g = await loadDataset(`idx:${dir}`, "test");
    assert.equal(g.name, `idx:${dir}`);
    await assert.rejects(loadDataset("fashion", "test", { env: {} }), /CGNN_FASHION_DIR/);
    await assert.rejects(
      loadDataset("mnist7", "test", { resize: "nearest" as "area" }),
      /unknown resize method/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
