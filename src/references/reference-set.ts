// The distilled reference set on disk: one safetensors file (8-bit pixels, U8 labels) that
// scripts/distill.ts writes and the service and scripts/evaluate.ts read, validated at the boundary.
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../util/atomic-write.js";
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from "../util/safetensors.js";

export const REFERENCE_FORMAT = "cgnn-references/1";

export interface ReferenceLevel {
  level: number;
  /** [count, height, width, channels] raw pixels in [0, 1]. */
  images: Float32Array;
  /** Class indices into `classes`. */
  labels: Uint8Array;
  count: number;
}

export interface ReferenceSet {
  version: string;
  classes: string[];
  levels: ReferenceLevel[];
  height: number;
  width: number;
  channels: number;
  provenance: Record<string, unknown>;
}

export class ReferenceSetError extends Error {
  override name = "ReferenceSetError";
}

function checkSet(set: ReferenceSet, source: string): void {
  const fail = (message: string): never => {
    throw new ReferenceSetError(`${source}: ${message}`);
  };
  if (typeof set.version !== "string" || set.version === "") fail("version must be a string");
  if (
    !Array.isArray(set.classes) ||
    set.classes.length === 0 ||
    set.classes.length > 256 ||
    set.classes.some((c) => typeof c !== "string")
  ) {
    fail("classes must be 1..256 strings");
  }
  for (const [name, v] of [
    ["height", set.height],
    ["width", set.width],
    ["channels", set.channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) fail(`${name} must be a positive integer, got ${v}`);
  }
  if (set.levels.length === 0) fail("holds no levels");
  const seen = new Set<number>();
  const size = set.height * set.width * set.channels;
  for (const l of set.levels) {
    const where = `level ${l.level}`;
    if (!Number.isInteger(l.level) || l.level < 0) fail(`bad level number ${l.level}`);
    if (seen.has(l.level)) fail(`${where} appears twice`);
    seen.add(l.level);
    if (!Number.isInteger(l.count) || l.count < 1) fail(`${where}: count must be ≥ 1`);
    if (l.images.length !== l.count * size) {
      fail(
        `${where}: ${l.images.length} pixels, expected ${l.count}×${set.height}×${set.width}×${set.channels}`,
      );
    }
    if (l.labels.length !== l.count) fail(`${where}: ${l.labels.length} labels for ${l.count}`);
    for (const label of l.labels) {
      if (label >= set.classes.length) {
        fail(`${where}: label ${label} outside 0..${set.classes.length - 1}`);
      }
    }
    for (const p of l.images) {
      if (!(p >= 0 && p <= 1)) fail(`${where}: pixel ${p} outside [0, 1]`);
    }
  }
}

/** The safetensors bytes of a reference set (validated first). */
export function encodeReferenceSet(set: ReferenceSet, source = "reference set"): Buffer {
  checkSet(set, source);
  const tensors: NamedTensors = {};
  for (const l of set.levels) {
    tensors[`level${l.level}.images`] = {
      shape: [l.count, set.height, set.width, set.channels],
      data: l.images.map((p) => Math.round(p * 255)),
      dtype: "U8",
    };
    tensors[`level${l.level}.labels`] = {
      shape: [l.count],
      data: Float32Array.from(l.labels),
      dtype: "U8",
    };
  }
  return encodeSafetensors(tensors, {
    format: REFERENCE_FORMAT,
    version: set.version,
    classes: JSON.stringify(set.classes),
    levels: JSON.stringify(set.levels.map((l) => l.level)),
    shape: JSON.stringify([set.height, set.width, set.channels]),
    provenance: JSON.stringify(set.provenance),
  });
}

function parseJson(text: string | undefined, key: string, source: string): unknown {
  if (text === undefined) throw new ReferenceSetError(`${source}: metadata lacks "${key}"`);
  try {
    return JSON.parse(text);
  } catch {
    throw new ReferenceSetError(`${source}: metadata "${key}" is not valid JSON`);
  }
}

/** Parses and validates reference-set bytes; every error names `source`. */
export function decodeReferenceSet(bytes: Uint8Array, source = "reference set"): ReferenceSet {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, source);
  } catch (error) {
    throw new ReferenceSetError((error as Error).message);
  }
  const { weights, metadata } = decoded;
  if (metadata.format !== REFERENCE_FORMAT) {
    throw new ReferenceSetError(
      `${source}: format is ${JSON.stringify(metadata.format)}, expected "${REFERENCE_FORMAT}"`,
    );
  }
  const classes = parseJson(metadata.classes, "classes", source) as string[];
  const levelNumbers = parseJson(metadata.levels, "levels", source);
  const shape = parseJson(metadata.shape, "shape", source);
  const provenance = parseJson(metadata.provenance ?? "{}", "provenance", source);
  if (!Array.isArray(levelNumbers) || !Array.isArray(shape) || shape.length !== 3) {
    throw new ReferenceSetError(`${source}: metadata "levels" or "shape" is malformed`);
  }
  const [height, width, channels] = shape as number[];
  const levels: ReferenceLevel[] = (levelNumbers as number[]).map((level) => {
    const images = weights[`level${level}.images`];
    const labels = weights[`level${level}.labels`];
    if (!images || !labels) {
      throw new ReferenceSetError(`${source}: level ${level} lacks its images or labels tensor`);
    }
    const count = images.shape[0];
    if (images.shape.join() !== [count, height, width, channels].join()) {
      throw new ReferenceSetError(
        `${source}: level${level}.images is [${images.shape}], expected [n,${height},${width},${channels}]`,
      );
    }
    if (labels.shape.join() !== `${count}`) {
      throw new ReferenceSetError(
        `${source}: level${level}.labels is [${labels.shape}], expected [${count}]`,
      );
    }
    for (const v of labels.data) {
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        throw new ReferenceSetError(`${source}: level ${level} has a non-integer label ${v}`);
      }
    }
    const pixels = images.dtype === "U8" ? images.data.map((v) => v / 255) : images.data;
    return { level, images: pixels, labels: Uint8Array.from(labels.data), count };
  });
  const set: ReferenceSet = {
    version: metadata.version ?? "",
    classes,
    levels,
    height,
    width,
    channels,
    provenance: (provenance ?? {}) as Record<string, unknown>,
  };
  checkSet(set, source);
  return set;
}

/** Writes the set atomically (temp file, fsync, rename). */
export async function writeReferenceSet(path: string, set: ReferenceSet): Promise<void> {
  await writeFileAtomic(path, encodeReferenceSet(set, path));
}

export async function readReferenceSet(path: string): Promise<ReferenceSet> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ReferenceSetError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code})`);
  }
  return decodeReferenceSet(bytes, path);
}

/** One level of a set, or a clear error listing the levels it has. */
export function referenceLevel(set: ReferenceSet, level: number): ReferenceLevel {
  const found = set.levels.find((l) => l.level === level);
  if (!found) {
    throw new ReferenceSetError(
      `reference set ${set.version} has no level ${level} (has ${set.levels.map((l) => l.level).join(", ")})`,
    );
  }
  return found;
}
