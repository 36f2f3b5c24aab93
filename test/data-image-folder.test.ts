import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FOLDER_CACHE_FILE, loadImageFolder } from "../src/data/image-folder.js";
import { loadDataset } from "../src/data/load.js";
import { prepareImage } from "../src/data/prepare-image.js";
import { preprocessingFor } from "../src/data/preprocess.js";
import { shapePng, writeFolder } from "./synthetic-shapes.js";

const root = await mkdtemp(join(tmpdir(), "cgnn-folder-"));
after(() => rm(root, { recursive: true, force: true }));

function collector() {
  const lines: string[] = [];
  return { lines, write: (s: string) => lines.push(s) > 0 } as unknown as NodeJS.WritableStream & {
    lines: string[];
  };
}

test("a flat ImageFolder loads with class names from the folders and a stratified seeded split", async () => {
  const dir = join(root, "flat");
  await writeFolder(dir, 10);
  const progress = collector();
  const train = await loadDataset(`folder:${dir}`, "train", { folder: { progress } });
  const test2 = await loadImageFolder(dir, "test", { progress });
  assert.deepEqual(train.classes, ["circle", "square", "triangle"]);
  assert.equal(train.name, `folder:${dir}`);
  assert.deepEqual([train.height, train.width, train.channels], [32, 32, 3]);
  assert.equal(train.count + test2.count, 30);
  for (let c = 0; c < 3; c++) {
    assert.equal(test2.labels.filter((l) => l === c).length, 2, `class ${c} in test`);
    assert.equal(train.labels.filter((l) => l === c).length, 8, `class ${c} in train`);
  }
  assert.deepEqual(train.preprocessing, { resize: "stretch", pad: [0, 0, 0], invert: false });
  // Decoded once: the first load wrote the cache, the second read it without a progress line.
  assert.equal(progress.lines.filter((l) => l.startsWith("decode")).length, 1);
  await stat(join(dir, FOLDER_CACHE_FILE));
  const again = await loadImageFolder(dir, "train", { progress, seed: 0 });
  assert.deepEqual(again.images, train.images);
  assert.equal(progress.lines.length, 1);
  // Another seed gives another split of the same images.
  const other = await loadImageFolder(dir, "test", { progress, seed: 7 });
  assert.notDeepEqual(other.images, test2.images);
  // A changed file invalidates the cache.
  await writeFile(join(dir, "circle", "000.png"), await shapePng("circle", 999));
  await loadImageFolder(dir, "train", { progress });
  assert.equal(progress.lines.length, 2);
});

test("train/ and test/ folders are the split; training pixels equal what an upload of the same file gets", async () => {
  const dir = join(root, "presplit");
  await writeFolder(join(dir, "train"), 3, { sides: [40, 64, 50] });
  await writeFolder(join(dir, "test"), 2, { sides: [32] });
  const options = { size: 24, resize: "cover" as const, progress: null };
  const train = await loadImageFolder(dir, "train", options);
  const test2 = await loadImageFolder(dir, "test", options);
  assert.equal(train.count, 9);
  assert.equal(test2.count, 6);
  assert.deepEqual([train.height, train.channels], [24, 3]);
  const p = preprocessingFor([24, 24, 3], train.preprocessing);
  const size = 24 * 24 * 3;
  for (const [i, file] of ["circle/000.png", "circle/001.png", "triangle/002.png"].entries()) {
    const index = [0, 1, 8][i];
    const upload = await prepareImage(await readFile(join(dir, "train", file)), [24, 24, 3], {
      preprocessing: p,
    });
    assert.deepEqual(upload.pixels, train.images.subarray(index * size, (index + 1) * size));
  }
});

test("grey pictures make a 1-channel data set unless --channels says 3", async () => {
  const dir = join(root, "grey");
  await writeFolder(dir, 4, { grey: true });
  const grey = await loadImageFolder(dir, "train", { progress: null });
  assert.equal(grey.channels, 1);
  const rgb = await loadImageFolder(dir, "train", { progress: null, channels: 3 });
  assert.equal(rgb.channels, 3);
  for (let i = 0; i < grey.images.length; i++) assert.equal(rgb.images[i * 3], grey.images[i]);
});

test("bad data stops with one line naming the file or folder", async () => {
  const bad = join(root, "bad");
  await writeFolder(bad, 2);
  await writeFile(join(bad, "square", "broken.png"), "not an image");
  await assert.rejects(loadImageFolder(bad, "train", { progress: null }), (e: Error) => {
    assert.match(e.message, /square\/broken\.png: unreadable image/);
    return true;
  });
  const empty = join(root, "empty");
  await writeFolder(empty, 2);
  await mkdir(join(empty, "zebra"));
  await assert.rejects(
    loadImageFolder(empty, "train", { progress: null }),
    /zebra: class "zebra" holds no images/,
  );
  const one = join(root, "one");
  await mkdir(join(one, "only"), { recursive: true });
  await writeFile(join(one, "only", "a.png"), await shapePng("circle", 1));
  await assert.rejects(
    loadImageFolder(one, "train", { progress: null }),
    /only one class \("only"\)/,
  );
  const mixed = join(root, "mixed");
  await writeFolder(mixed, 2, { sides: [32, 40] });
  await assert.rejects(
    loadImageFolder(mixed, "train", { progress: null }),
    /001\.png: is 40×40 but .*000\.png is 32×32; pass --size N/,
  );
  await assert.rejects(loadImageFolder(join(root, "nope"), "train"), /nope: folder not found/);
  await assert.rejects(loadImageFolder(mixed, "train", { size: 0 }), /--size 0 must be/);
});
