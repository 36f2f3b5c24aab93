import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CIFAR10_CLASSES, loadCifar10 } from "../src/data/cifar10.js";
import { encodeIdx } from "../src/data/idx.js";
import { loadDataset } from "../src/data/load.js";
import { FASHION_CLASSES, MNIST_CLASSES } from "../src/data/mnist.js";

const dir = await mkdtemp(join(tmpdir(), "cgnn-names-"));
after(() => rm(dir, { recursive: true, force: true }));

async function idxDir(name: string, labels: number[]): Promise<string> {
  const d = join(dir, name);
  await mkdir(d);
  const n = labels.length;
  await writeFile(join(d, "t10k-images-idx3-ubyte"), encodeIdx([n, 2, 2], new Uint8Array(n * 4)));
  await writeFile(join(d, "t10k-labels-idx1-ubyte"), encodeIdx([n], Uint8Array.from(labels)));
  return d;
}

test("an IDX directory takes its class names from labels.txt, checked against the labels", async () => {
  const d = await idxDir("named", [0, 2, 1]);
  const plain = await loadDataset(`idx:${d}`, "test");
  assert.deepEqual(plain.classes, MNIST_CLASSES);
  await writeFile(join(d, "labels.txt"), "cat\r\ndog\n\nbird\n");
  const named = await loadDataset(`idx:${d}`, "test");
  assert.deepEqual(named.classes, ["cat", "dog", "bird"]);
  await writeFile(join(d, "labels.txt"), "cat\ndog\n");
  await assert.rejects(
    loadDataset(`idx:${d}`, "test"),
    /labels\.txt: 2 class names, but the labels need 3/,
  );
  await writeFile(join(d, "labels.txt"), "cat\ncat\ndog\n");
  await assert.rejects(loadDataset(`idx:${d}`, "test"), /class name "cat" appears twice/);
});

test("Fashion-MNIST has its item names; MNIST has the digits", async () => {
  const d = await idxDir("fashion", [0, 9]);
  const fashion = await loadDataset("fashion", "test", { dir: d });
  assert.equal(fashion.classes[9], "Ankle boot");
  assert.deepEqual(fashion.classes, FASHION_CLASSES);
  const mnist = await loadDataset("mnist", "test");
  assert.deepEqual(mnist.classes, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
});

test("CIFAR-10 reads batches.meta.txt when it is there", async () => {
  const d = join(dir, "cifar");
  await mkdir(d);
  await writeFile(join(d, "test_batch.bin"), new Uint8Array(3073));
  assert.deepEqual((await loadCifar10({ split: "test", dir: d })).classes, CIFAR10_CLASSES);
  const names = CIFAR10_CLASSES.map((c) => c.toUpperCase());
  await writeFile(join(d, "batches.meta.txt"), `${names.join("\n")}\n\n`);
  assert.deepEqual((await loadCifar10({ split: "test", dir: d })).classes, names);
});
