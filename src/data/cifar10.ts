// Reader for the official CIFAR-10 binary batches (cifar-10-binary.tar.gz), converted to
// NHWC float pixels in [0, 1].
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readClassNames } from "./class-names.js";
import type { Dataset } from "./dataset.js";
import { DataError } from "./errors.js";
import type { Split } from "./mnist.js";

export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];
export const CIFAR10_DEFAULT_DIR = "data/cifar-10-batches-bin";
export const CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;

function cifar10BatchFiles(split: Split): string[] {
  return split === "train" ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ["test_batch.bin"];
}

/** Decodes one batch file: records of 1 label byte then R, G, B planes of 32×32 bytes. */
export function parseCifar10Batch(
  bytes: Uint8Array,
  file: string,
): { images: Float32Array; labels: Uint8Array; count: number } {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DataError(
      file,
      `${bytes.length} bytes is not a whole number of ${RECORD}-byte CIFAR-10 records (truncated or not a CIFAR-10 binary batch)`,
    );
  }
  const count = bytes.length / RECORD;
  const images = new Float32Array(count * 3 * PLANE);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const rec = n * RECORD;
    const label = bytes[rec];
    if (label >= CIFAR10_CLASSES.length) {
      throw new DataError(file, `record ${n} has label ${label}, expected 0..9`);
    }
    labels[n] = label;
    const out = n * 3 * PLANE;
    for (let c = 0; c < 3; c++) {
      const src = rec + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++) images[out + p * 3 + c] = bytes[src + p] / 255;
    }
  }
  return { images, labels, count };
}

function missingMessage(dir: string, files: string[]): string {
  return (
    `CIFAR-10 binary batches not found: expected ${files.map((f) => join(dir, f)).join(", ")}. ` +
    `Download ${CIFAR10_URL}, extract it (tar xzf cifar-10-binary.tar.gz) into data/, or set ` +
    "CGNN_CIFAR10_DIR to the extracted cifar-10-batches-bin directory (see docs/DATA.md)"
  );
}

export async function loadCifar10(options: { split: Split; dir?: string }): Promise<Dataset> {
  const dir = resolve(options.dir ?? CIFAR10_DEFAULT_DIR);
  const names = cifar10BatchFiles(options.split);
  const batches = await Promise.all(
    names.map(async (name) => {
      const file = join(dir, name);
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
          throw new DataError(file, missingMessage(dir, names));
        }
        throw new DataError(file, `cannot read (${(e as Error).message})`);
      }
      return parseCifar10Batch(bytes, file);
    }),
  );
  const count = batches.reduce((a, b) => a + b.count, 0);
  const images = new Float32Array(count * 3 * PLANE);
  const labels = new Uint8Array(count);
  let offset = 0;
  for (const b of batches) {
    images.set(b.images, offset * 3 * PLANE);
    labels.set(b.labels, offset);
    offset += b.count;
  }
  return {
    name: "cifar10",
    images,
    labels,
    count,
    height: SIDE,
    width: SIDE,
    channels: 3,
    classes: (await readClassNames(join(dir, "batches.meta.txt"), 10)) ?? CIFAR10_CLASSES,
  };
}
