// The safetensors file format for named float32 (or 8-bit) tensors: an 8-byte little-endian
// header length, a JSON header, raw little-endian data; files are written atomically.
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-write.js";

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
  /** Stored type: F32 (default), or U8 for integer values 0..255 (e.g. 8-bit pixels). */
  dtype?: "F32" | "U8";
}

export type NamedTensors = Record<string, NamedTensor>;

const BYTES = { F32: 4, U8: 1 } as const;

export function encodeSafetensors(
  weights: NamedTensors,
  metadata: Record<string, string> = {},
): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = Object.keys(weights).sort();
  for (const name of names) {
    const dtype = weights[name].dtype ?? "F32";
    const bytes = weights[name].data.length * BYTES[dtype];
    header[name] = {
      dtype,
      shape: weights[name].shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const { data, dtype } = weights[name];
    const raw = dtype === "U8" ? Uint8Array.from(data) : data;
    Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).copy(out, at);
    at += raw.byteLength;
  }
  return out;
}

export function decodeSafetensors(
  bytes: Uint8Array,
  source = "safetensors data",
): { weights: NamedTensors; metadata: Record<string, string> } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8) throw new Error(`${source}: too short to be a safetensors file`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (8 + headerLength > buf.length)
    throw new Error(`${source}: header runs past the end of the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString("utf8"));
  } catch {
    throw new Error(`${source}: header is not valid JSON`);
  }
  const base = 8 + headerLength;
  const weights: NamedTensors = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as unknown as Record<string, string>;
      continue;
    }
    const dtype = entry.dtype;
    if (dtype !== "F32" && dtype !== "U8") {
      throw new Error(`${source}: ${name} has dtype ${dtype}, only F32 and U8 are read`);
    }
    const [start, end] = entry.data_offsets;
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (end - start !== size * BYTES[dtype] || base + end > buf.length) {
      throw new Error(
        `${source}: ${name} data does not match its shape [${entry.shape}] or is truncated`,
      );
    }
    const raw = buf.subarray(base + start, base + end);
    if (dtype === "U8") {
      weights[name] = { shape: entry.shape, data: Float32Array.from(raw), dtype };
      continue;
    }
    const data = new Float32Array(size);
    Buffer.from(data.buffer).set(raw);
    weights[name] = { shape: entry.shape, data };
  }
  return { weights, metadata };
}

export async function saveSafetensors(
  path: string,
  weights: NamedTensors,
  metadata: Record<string, string> = {},
) {
  await writeFileAtomic(path, encodeSafetensors(weights, metadata));
}

export async function loadSafetensors(path: string) {
  return decodeSafetensors(await readFile(path), path);
}
