// Reader for IDX files (the MNIST format), plain or gzip-compressed, with checks that
// name the file and what is wrong with it.
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { DataError } from "./errors.js";

const UBYTE = 0x08;
const gunzipAsync = promisify(gunzip);

export interface IdxArray {
  file: string;
  dims: number[];
  data: Uint8Array;
}

export interface IdxImages {
  file: string;
  count: number;
  height: number;
  width: number;
  data: Uint8Array;
}

export interface IdxLabels {
  file: string;
  count: number;
  data: Uint8Array;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/** Parses IDX bytes holding unsigned bytes with `expectedDims` dimensions. */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims: number): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(file, `too short for an IDX header (${bytes.length} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const expectedMagic = (UBYTE << 8) | expectedDims;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(
      file,
      `not an IDX file: magic ${hex(magic)}, expected ${hex(expectedMagic)}`,
    );
  }
  if (bytes[2] !== UBYTE) {
    throw new DataError(
      file,
      `IDX data type 0x${bytes[2].toString(16).padStart(2, "0")} is not supported (only unsigned bytes, 0x08)`,
    );
  }
  if (bytes[3] !== expectedDims) {
    throw new DataError(
      file,
      `IDX magic ${hex(magic)} has ${bytes[3]} dimensions, expected ${expectedDims} (${hex(expectedMagic)})`,
    );
  }
  const headerLength = 4 + 4 * expectedDims;
  if (bytes.length < headerLength) {
    throw new DataError(file, `truncated IDX header: ${bytes.length} bytes, need ${headerLength}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < expectedDims; i++) {
    const d = view.getUint32(4 + 4 * i);
    if (d === 0 && i > 0) throw new DataError(file, `IDX dimension ${i} is 0`);
    dims.push(d);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  const expectedLength = headerLength + size;
  if (bytes.length !== expectedLength) {
    const what = bytes.length < expectedLength ? "truncated" : "has trailing bytes";
    throw new DataError(
      file,
      `${what}: ${bytes.length} bytes, but dimensions [${dims.join(", ")}] need ${expectedLength}`,
    );
  }
  return { file, dims, data: bytes.subarray(headerLength) };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a file's bytes, gunzipping when it starts with the gzip magic (whatever its name). */
async function readMaybeGzip(file: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(file, code === "ENOENT" ? "file not found" : `cannot read (${code ?? e})`);
  }
  if (!isGzip(raw)) return raw;
  try {
    return await gunzipAsync(raw);
  } catch (e) {
    throw new DataError(file, `corrupt gzip data (${(e as Error).message})`);
  }
}

export async function readIdxImages(file: string): Promise<IdxImages> {
  const { dims, data } = parseIdx(await readMaybeGzip(file), file, 3);
  return { file, count: dims[0], height: dims[1], width: dims[2], data };
}

export async function readIdxLabels(file: string): Promise<IdxLabels> {
  const { dims, data } = parseIdx(await readMaybeGzip(file), file, 1);
  return { file, count: dims[0], data };
}

/** Encodes unsigned bytes as an IDX file (used by tests and by tools that export data). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length)
    throw new Error(`encodeIdx: [${dims}] needs ${size} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, (UBYTE << 8) | dims.length);
  for (let i = 0; i < dims.length; i++) view.setUint32(4 + 4 * i, dims[i]);
  out.set(data, 4 + 4 * dims.length);
  return out;
}
