// Loads an ImageFolder directory (--data folder:DIR) as a Dataset: every image decoded once with a
// progress line and prepared by the model preprocessing function, cached next to the data
// (.cgnn-cache.safetensors) and reused while the files and the options stay the same.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { decodeSafetensors, encodeSafetensors } from "../util/safetensors.js";
import { type Dataset, shuffledIndices, subset } from "./dataset.js";
import { DataError } from "./errors.js";
import { decodeImage } from "./image.js";
import { type FolderFile, type FolderScan, scanImageFolder } from "./image-folder-scan.js";
import {
  type Preprocessing,
  preprocessingFor,
  preprocessingRecord,
  RESIZE_MODES,
  type ResizeMode,
  toModelInput,
} from "./preprocess.js";

export const FOLDER_CACHE_FILE = ".cgnn-cache.safetensors";
const CACHE_FORMAT = "cgnn-folder-cache/1";

export interface FolderOptions {
  /** Side of the square images; default the images' own size (then they must all be one square size). */
  size?: number;
  /** 1 or 3; default 3 when any image has colour, else 1. */
  channels?: 1 | 3;
  /** How pictures of another shape become square; default "stretch". */
  resize?: ResizeMode;
  /** Padding colour for "fit" and transparent pixels, in [0, 1]; default black. */
  pad?: number[];
  /** Seed and test share of the stratified split when the folder has no train/ and test/; 0 and 0.2. */
  seed?: number;
  testFraction?: number;
  /** Where progress lines go; default process.stderr, null for none. */
  progress?: NodeJS.WritableStream | null;
}

interface Decoded {
  images: Float32Array;
  labels: Uint8Array;
  side: number;
  channels: 1 | 3;
}

function checkOptions(o: FolderOptions): void {
  if (o.size !== undefined && !(Number.isInteger(o.size) && o.size >= 1 && o.size <= 512)) {
    throw new DataError("", `--size ${o.size} must be an integer from 1 to 512`);
  }
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) {
    throw new DataError("", `--channels ${o.channels} must be 1 or 3`);
  }
  if (o.resize !== undefined && !RESIZE_MODES.includes(o.resize)) {
    throw new DataError("", `resize mode "${o.resize}"; expected ${RESIZE_MODES.join(", ")}`);
  }
  const f = o.testFraction ?? 0.2;
  if (!(f > 0 && f < 1)) throw new DataError("", `test fraction ${f} must be in (0, 1)`);
}

function cacheKey(scan: FolderScan, o: FolderOptions): string {
  const files = scan.files.map((f) => [f.rel, f.size, f.mtimeMs, f.label]);
  const options = [o.size ?? null, o.channels ?? null, o.resize ?? "stretch", o.pad ?? [0]];
  return createHash("sha256")
    .update(JSON.stringify([CACHE_FORMAT, scan.classes, files, options]))
    .digest("hex");
}

async function readCache(path: string, key: string, count: number): Promise<Decoded | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  try {
    const { weights, metadata } = decodeSafetensors(bytes, path);
    if (metadata.key !== key || weights.labels?.data.length !== count) return undefined;
    const [, side, , channels] = weights.images.shape;
    return {
      images: weights.images.data,
      labels: Uint8Array.from(weights.labels.data),
      side,
      channels: channels === 1 ? 1 : 3,
    };
  } catch {
    return undefined;
  }
}

function reporter(total: number, out: NodeJS.WritableStream | null) {
  const start = performance.now();
  let last = start;
  return (done: number) => {
    const now = performance.now();
    if (!out || (now - last < 2000 && done < total)) return;
    last = now;
    const rate = done / Math.max((now - start) / 1000, 1e-3);
    const eta = rate > 0 ? Math.round((total - done) / rate) : 0;
    const bar = "#".repeat(Math.round((20 * done) / total)).padEnd(20, "-");
    out.write(`decode |${bar}| ${done}/${total} images, ${rate.toFixed(0)}/s, ETA ${eta}s\n`);
  };
}

function isColour(raw: { data: Uint8Array; channels: number }): boolean {
  if (raw.channels < 3) return false;
  for (let i = 0; i < raw.data.length; i += raw.channels) {
    if (raw.data[i] !== raw.data[i + 1] || raw.data[i + 1] !== raw.data[i + 2]) return true;
  }
  return false;
}

/** Decodes and prepares every file, in order, 4 at a time; the first bad file stops it. */
async function decodeAll(scan: FolderScan, o: FolderOptions): Promise<Decoded> {
  const files = scan.files;
  const labels = Uint8Array.from(files, (f) => f.label);
  const report = reporter(files.length, o.progress === undefined ? process.stderr : o.progress);
  let first: { file: FolderFile; width: number; height: number } | undefined;
  let side = o.size ?? 0;
  let colour = false;
  let images = new Float32Array(0);
  const working = (o.channels ?? 3) as 1 | 3;
  let done = 0;
  const one = async (i: number) => {
    const file = files[i];
    const image = await decodeImage(await readFile(file.path), { minSide: 1 }).catch((e) => {
      throw new DataError(file.path, `unreadable image (${(e as Error).message})`);
    });
    if (!first) {
      first = { file, width: image.originalWidth, height: image.originalHeight };
      if (!o.size && image.width !== image.height) {
        throw new DataError(
          file.path,
          `is ${image.width}×${image.height}, not square; pass --size N`,
        );
      }
      side ||= image.width;
      images = new Float32Array(files.length * side * side * working);
    } else if (
      !o.size &&
      (image.originalWidth !== first.width || image.originalHeight !== first.height)
    ) {
      throw new DataError(
        file.path,
        `is ${image.originalWidth}×${image.originalHeight} but ${first.file.path} is ${first.width}×${first.height}; pass --size N to resize them all`,
      );
    }
    colour ||= isColour(image.raw);
    const p = preprocessingFor([side, side, working], {
      resize: o.resize ?? "stretch",
      pad: o.pad ?? [0],
    });
    images.set(toModelInput(image, p).pixels, i * side * side * working);
    report(++done);
  };
  await one(0);
  let next = 1;
  const lane = async () => {
    while (next < files.length) await one(next++);
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  const channels = o.channels ?? (colour ? 3 : 1);
  if (channels === working) return { images, labels, side, channels };
  const grey = new Float32Array(images.length / 3);
  for (let i = 0; i < grey.length; i++) grey[i] = images[i * 3];
  return { images: grey, labels, side, channels };
}

/** The train or test split of an ImageFolder directory as a Dataset (names from the folders). */
export async function loadImageFolder(
  dir: string,
  split: "train" | "test",
  options: FolderOptions = {},
): Promise<Dataset> {
  checkOptions(options);
  const scan = await scanImageFolder(dir);
  const key = cacheKey(scan, options);
  const cachePath = join(dir, FOLDER_CACHE_FILE);
  let data = await readCache(cachePath, key, scan.files.length);
  if (!data) {
    data = await decodeAll(scan, options);
    const { images, labels, side, channels } = data;
    const bytes = encodeSafetensors(
      {
        images: { shape: [labels.length, side, side, channels], data: images },
        labels: { shape: [labels.length], data: Float32Array.from(labels), dtype: "U8" },
      },
      { format: CACHE_FORMAT, key, classes: JSON.stringify(scan.classes) },
    );
    await writeFileAtomic(cachePath, bytes).catch((e) => {
      (options.progress === undefined ? process.stderr : options.progress)?.write(
        `decode: cache not written (${(e as Error).message})\n`,
      );
    });
  }
  const preprocessing: Preprocessing = preprocessingFor([data.side, data.side, data.channels], {
    resize: options.resize ?? "stretch",
    pad: options.pad ?? [0],
  });
  const all: Dataset = {
    name: `folder:${dir}`,
    images: data.images,
    labels: data.labels,
    count: data.labels.length,
    height: data.side,
    width: data.side,
    channels: data.channels,
    classes: scan.classes,
    preprocessing: preprocessingRecord(preprocessing),
  };
  const chosen = scan.presplit
    ? scan.files.flatMap((f, i) => (f.split === split ? [i] : []))
    : stratifiedSplit(all, options.seed ?? 0, options.testFraction ?? 0.2)[split];
  return subset(all, chosen);
}

/** Per class, a seeded share (at least one image of each class with two or more) held out for test. */
export function stratifiedSplit(
  d: Dataset,
  seed: number,
  fraction: number,
): { train: number[]; test: number[] } {
  const byClass: number[][] = d.classes.map(() => []);
  for (let i = 0; i < d.count; i++) byClass[d.labels[i]].push(i);
  const train: number[] = [];
  const test: number[] = [];
  for (const [label, members] of byClass.entries()) {
    const order = shuffledIndices(members.length, seed * 1009 + label);
    const nTest = members.length < 2 ? 0 : Math.max(1, Math.round(members.length * fraction));
    for (const [k, j] of order.entries()) (k < nTest ? test : train).push(members[j]);
  }
  const byIndex = (a: number, b: number) => a - b;
  return { train: train.sort(byIndex), test: test.sort(byIndex) };
}
