// A strict JS decoder for plain 8-bit PNGs, the usual upload: it skips libvips' fixed per-call cost
// (about 1 ms of CPU even for 28×28). Anything unusual or damaged returns null and sharp decides.
import { crc32, inflateSync } from "node:zlib";

export interface RawPixels {
  /** Interleaved 8-bit samples, row-major, as sharp's raw output would hold them. */
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Channels by PNG colour type: grey, RGB, palette (expanded to RGB), grey+alpha, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
/** Ancillary chunks that cannot change the decoded pixels; any other one sends the file to sharp. */
const INERT = new Set(["tEXt", "zTXt", "iTXt", "tIME", "pHYs"]);

interface Header {
  width: number;
  height: number;
  colourType: number;
}

function readHeader(bytes: Uint8Array, view: DataView): Header | null {
  if (view.getUint32(8) !== 13 || chunkType(bytes, 12) !== "IHDR") return null;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colourType, compression, filter, interlace] = bytes.subarray(24, 29);
  const plain = depth === 8 && compression === 0 && filter === 0 && interlace === 0;
  return plain && CHANNELS[colourType] && width > 0 && height > 0
    ? { width, height, colourType }
    : null;
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

/** Reverses the per-row PNG filters; false on an unknown filter type. */
function unfilter(src: Uint8Array, out: Uint8Array, rowBytes: number, bpp: number): boolean {
  const rows = out.length / rowBytes;
  for (let y = 0; y < rows; y++) {
    const filter = src[y * (rowBytes + 1)];
    const s = y * (rowBytes + 1) + 1;
    const o = y * rowBytes;
    const up = o - rowBytes;
    if (filter === 0) {
      out.set(src.subarray(s, s + rowBytes), o);
    } else if (filter === 1) {
      for (let x = 0; x < rowBytes; x++) {
        out[o + x] = src[s + x] + (x >= bpp ? out[o + x - bpp] : 0);
      }
    } else if (filter === 2) {
      for (let x = 0; x < rowBytes; x++) out[o + x] = src[s + x] + (y > 0 ? out[up + x] : 0);
    } else if (filter === 3) {
      for (let x = 0; x < rowBytes; x++) {
        const a = x >= bpp ? out[o + x - bpp] : 0;
        const b = y > 0 ? out[up + x] : 0;
        out[o + x] = src[s + x] + ((a + b) >> 1);
      }
    } else if (filter === 4) {
      for (let x = 0; x < rowBytes; x++) {
        const a = x >= bpp ? out[o + x - bpp] : 0;
        const b = y > 0 ? out[up + x] : 0;
        const c = x >= bpp && y > 0 ? out[up + x - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        out[o + x] = src[s + x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
    } else {
      return false;
    }
  }
  return true;
}

function expandPalette(indices: Uint8Array, palette: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(indices.length * 3);
  const entries = palette.length / 3;
  for (let i = 0; i < indices.length; i++) {
    const p = indices[i];
    if (p >= entries) return null;
    out[i * 3] = palette[p * 3];
    out[i * 3 + 1] = palette[p * 3 + 1];
    out[i * 3 + 2] = palette[p * 3 + 2];
  }
  return out;
}

/**
 * Decodes a non-interlaced 8-bit grey, grey+alpha, RGB, RGBA or palette PNG with at most
 * `maxPixels` pixels, whose every chunk is intact (CRC), ends with IEND and carries nothing that
 * could alter its pixels (no colour profile, gamma, transparency key or orientation).
 * Returns null otherwise, without deciding whether the file is valid.
 */
export function decodePlainPng(bytes: Uint8Array, maxPixels: number): RawPixels | null {
  if (bytes.length < 45 || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const header = readHeader(bytes, view);
  if (!header || header.width * header.height > maxPixels) return null;
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let at = 8;
  let ended = false;
  while (!ended) {
    if (at + 12 > bytes.length) return null;
    const length = view.getUint32(at);
    const end = at + 12 + length;
    if (length > 0x7fffffff || end > bytes.length) return null;
    if (crc32(bytes.subarray(at + 4, end - 4)) !== view.getUint32(end - 4)) return null;
    const type = chunkType(bytes, at + 4);
    const data = bytes.subarray(at + 8, end - 4);
    if (type === "IHDR") {
      if (at !== 8) return null;
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "PLTE") {
      if (palette || length % 3 !== 0) return null;
      palette = data;
    } else if (type === "IEND") {
      if (end !== bytes.length) return null;
      ended = true;
    } else if (!INERT.has(type)) {
      return null;
    }
    at = end;
  }
  const { width, height, colourType } = header;
  if (idat.length === 0 || (colourType === 3) !== (palette !== undefined)) return null;
  const samples = colourType === 3 ? 1 : CHANNELS[colourType];
  const rowBytes = width * samples;
  let filtered: Uint8Array;
  try {
    filtered = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), {
      maxOutputLength: height * (rowBytes + 1) + 1,
    });
  } catch {
    return null;
  }
  if (filtered.length !== height * (rowBytes + 1)) return null;
  const unfiltered = new Uint8Array(height * rowBytes);
  if (!unfilter(filtered, unfiltered, rowBytes, samples)) return null;
  const data = palette ? expandPalette(unfiltered, palette) : unfiltered;
  return data && { data, width, height, channels: CHANNELS[colourType] };
}
