// Named float32 weights: initialisation from a spec, and the safetensors file format
// (8-byte little-endian header length, JSON header, raw little-endian data) for checkpoints.
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../util/atomic-write.js";
import { type ModelSpec, modelParams, type ParamInfo } from "./spec.js";

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
  /** Stored type: F32 (default), or U8 for integer values 0..255 (e.g. 8-bit pixels). */
  dtype?: "F32" | "U8";
}

const BYTES = { F32: 4, U8: 1 } as const;

export type Weights = Record<string, WeightTensor>;

/** Deterministic PRNG (mulberry32) so that a seed fixes every initial weight. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): () => number {
  return () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

function initParam(info: ParamInfo, normal: () => number, random: () => number): Float32Array {
  const size = info.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  switch (info.init) {
    case "zeros":
      break;
    case "ones":
      data.fill(1);
      break;
    case "heNormal":
    case "cgNormal": {
      // A polynomial layer has no nonlinearity to halve the variance: use 1/fanIn.
      const std = Math.sqrt((info.init === "heNormal" ? 2 : 1) / info.fanIn);
      for (let i = 0; i < size; i++) data[i] = normal() * std;
      break;
    }
    case "glorotUniform": {
      const fanOut = info.shape.at(-1) ?? 1;
      const limit = Math.sqrt(6 / (info.fanIn + fanOut));
      for (let i = 0; i < size; i++) data[i] = (random() * 2 - 1) * limit;
      break;
    }
  }
  return data;
}

export function initWeights(spec: ModelSpec, seed: number): Weights {
  const random = rng(seed);
  const normal = gaussian(random);
  const weights: Weights = {};
  for (const info of modelParams(spec)) {
    weights[info.name] = { shape: info.shape, data: initParam(info, normal, random) };
  }
  return weights;
}

/** Checks that weights hold exactly the spec's parameters with the right shapes. */
export function checkWeights(spec: ModelSpec, weights: Weights): void {
  const expected = modelParams(spec);
  for (const info of expected) {
    const w = weights[info.name];
    if (!w) throw new Error(`${spec.name}: missing weight ${info.name}`);
    if (w.shape.join() !== info.shape.join()) {
      throw new Error(
        `${spec.name}: weight ${info.name} is [${w.shape}], expected [${info.shape}]`,
      );
    }
  }
  const names = new Set(expected.map((p) => p.name));
  const extra = Object.keys(weights).filter((n) => !names.has(n));
  if (extra.length) throw new Error(`${spec.name}: unexpected weights ${extra.join(", ")}`);
}

export function encodeSafetensors(weights: Weights, metadata: Record<string, string> = {}): Buffer {
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
): { weights: Weights; metadata: Record<string, string> } {
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
  const weights: Weights = {};
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

export async function saveWeights(
  path: string,
  weights: Weights,
  metadata: Record<string, string> = {},
) {
  await writeFileAtomic(path, encodeSafetensors(weights, metadata));
}

export async function loadWeights(path: string) {
  return decodeSafetensors(await readFile(path), path);
}
