import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CIFAR10_CLASSES, loadCifar10, parseCifar10Batch } from "../src/data/cifar10.js";
import { DataError } from "../src/data/errors.js";
import { loadDataset } from "../src/data/load.js";

const RECORD = 3073;

/** One record: label, then R plane, G plane, B plane; pixel p of channel c is (label + 3p + c) % 256. */
function batch(labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * RECORD);
  labels.forEach((label, n) => {
    out[n * RECORD] = label;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) out[n * RECORD + 1 + c * 1024 + p] = (label + 3 * p + c) % 256;
    }
  });
  return out;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cgnn-cifar-"));
  for (let i = 1; i <= 5; i++) await writeFile(join(dir, `data_batch_${i}.bin`), batch([i, 9 - i]));
  await writeFile(join(dir, "test_batch.bin"), batch([3]));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("channel-major records become NHWC pixels in [0, 1]", () => {
  const { images, labels, count } = parseCifar10Batch(batch([4, 7]), "b");
  assert.equal(count, 2);
  assert.deepEqual([...labels], [4, 7]);
  assert.equal(images.length, 2 * 32 * 32 * 3);
  // image 1, row 2, column 5 → plane index p = 2*32+5, NHWC offset (p*3 + c)
  const p = 2 * 32 + 5;
  for (let c = 0; c < 3; c++) {
    assert.equal(images[3072 + p * 3 + c], Math.fround(((7 + 3 * p + c) % 256) / 255));
  }
});

test("train is the five batches in order, test is test_batch", async () => {
  const train = await loadCifar10({ split: "train", dir });
  assert.deepEqual([...train.labels], [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
  assert.deepEqual([train.count, train.height, train.width, train.channels], [10, 32, 32, 3]);
  assert.deepEqual(train.classes, CIFAR10_CLASSES);
  const t = await loadDataset("cifar10", "test", { env: { CGNN_CIFAR10_DIR: dir } });
  assert.equal(t.name, "cifar10");
  assert.deepEqual([...t.labels], [3]);
  assert.equal(t.images[1], Math.fround(4 / 255));
});

test("a truncated batch and a bad label are rejected naming the file", () => {
  assert.throws(
    () => parseCifar10Batch(batch([1]).subarray(0, 3000), "x.bin"),
    /x\.bin: 3000 bytes is not a whole number/,
  );
  assert.throws(() => parseCifar10Batch(batch([10]), "y.bin"), /y\.bin: record 0 has label 10/);
});

test("missing files give the expected path and how to get them", async () => {
  const empty = join(dir, "missing");
  await assert.rejects(loadCifar10({ split: "test", dir: empty }), (e: Error) => {
    assert.ok(e instanceof DataError);
    assert.ok(e.message.includes(join(empty, "test_batch.bin")));
    assert.match(e.message, /cifar-10-binary\.tar\.gz/);
    assert.match(e.message, /CGNN_CIFAR10_DIR/);
    return true;
  });
});
