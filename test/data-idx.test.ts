import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { DataError } from "../src/data/errors.js";
import { encodeIdx, parseIdx, readIdxImages, readIdxLabels } from "../src/data/idx.js";
import { loadIdxDir } from "../src/data/mnist.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cgnn-idx-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pixels = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => i * 10);

test("reads a valid images file and a gzipped labels file", async () => {
  const images = join(dir, "ok-images");
  const labels = join(dir, "ok-labels.gz");
  await writeFile(images, encodeIdx([3, 2, 4], pixels));
  await writeFile(labels, gzipSync(encodeIdx([3], Uint8Array.from([7, 0, 9]))));
  const im = await readIdxImages(images);
  assert.deepEqual([im.count, im.height, im.width], [3, 2, 4]);
  assert.deepEqual([...im.data], [...pixels]);
  const lb = await readIdxLabels(labels);
  assert.deepEqual([lb.count, ...lb.data], [3, 7, 0, 9]);
});

test("the header is big-endian with magic 0x00000803 for images", () => {
  const bytes = encodeIdx([3, 2, 4], pixels);
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0, 8, 3, 0, 0, 0, 3]);
});

function rejects(fn: () => unknown, pattern: RegExp, file: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${e}`);
    assert.equal(e.file, file);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(file));
    return true;
  });
}

test("labels read as images (wrong magic) are rejected naming the file", () => {
  const labels = encodeIdx([3], Uint8Array.from([1, 2, 3]));
  rejects(() => parseIdx(labels, "x/labels", 3), /0x00000801.*expected 3.*0x00000803/, "x/labels");
});

test("a non-IDX file, a non-byte type and a short header are rejected", () => {
  rejects(
    () => parseIdx(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]), "f", 3),
    /not an IDX file/,
    "f",
  );
  const float = encodeIdx([3], Uint8Array.from([1, 2, 3]));
  float[2] = 0x0d;
  rejects(() => parseIdx(float, "f", 1), /data type 0x0d/, "f");
  rejects(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0]), "f", 3), /truncated IDX header/, "f");
  rejects(() => parseIdx(Uint8Array.from([0, 0]), "f", 3), /too short/, "f");
});

test("truncated data and trailing bytes are rejected with the expected length", () => {
  const bytes = encodeIdx([3, 2, 4], pixels);
  rejects(
    () => parseIdx(bytes.subarray(0, bytes.length - 1), "t", 3),
    /truncated: 39 bytes.*need 40/,
    "t",
  );
  const longer = new Uint8Array(bytes.length + 2);
  longer.set(bytes);
  rejects(() => parseIdx(longer, "t", 3), /trailing bytes/, "t");
});

test("a truncated file on disk and a missing file name the path", async () => {
  const file = join(dir, "trunc-images");
  await writeFile(file, encodeIdx([3, 2, 4], pixels).subarray(0, 30));
  await assert.rejects(
    readIdxImages(file),
    (e: Error) => e instanceof DataError && e.message.includes(file) && /truncated/.test(e.message),
  );
  const missing = join(dir, "nope");
  await assert.rejects(
    readIdxLabels(missing),
    (e: Error) => e instanceof DataError && e.message === `${missing}: file not found`,
  );
  const badGz = join(dir, "bad.gz");
  await writeFile(badGz, Uint8Array.from([0x1f, 0x8b, 1, 2, 3]));
  await assert.rejects(readIdxLabels(badGz), /corrupt gzip/);
});

test("an IDX directory loads as a Dataset in [0, 1], gz or not, and checks counts", async () => {
  const d = join(dir, "set");
  await mkdir(d);
  await writeFile(join(d, "t10k-images-idx3-ubyte.gz"), gzipSync(encodeIdx([3, 2, 4], pixels)));
  await writeFile(join(d, "t10k-labels-idx1-ubyte"), encodeIdx([3], Uint8Array.from([1, 0, 2])));
  const ds = await loadIdxDir({ split: "test", dir: d });
  assert.equal(ds.name, `idx:${d}`);
  assert.deepEqual([ds.count, ds.height, ds.width, ds.channels], [3, 2, 4, 1]);
  assert.equal(ds.images[5], Math.fround(50 / 255));
  assert.deepEqual([...ds.labels], [1, 0, 2]);
  assert.equal(ds.classes.length, 10);
  await assert.rejects(loadIdxDir({ split: "train", dir: d }), (e: Error) =>
    e.message.includes(join(d, "train-images-idx3-ubyte.gz")),
  );
  await writeFile(join(d, "t10k-labels-idx1-ubyte"), encodeIdx([2], Uint8Array.from([1, 0])));
  await assert.rejects(loadIdxDir({ split: "test", dir: d }), /2 labels, but .* holds 3 images/);
});
