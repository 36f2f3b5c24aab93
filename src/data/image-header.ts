// Format and stored size read from the first bytes of PNG, JPEG and GIF files, so that the pixel
// and size limits apply before decoding and one sharp call is enough; null means "ask sharp". Also
// the fewest bytes a JPEG of its declared size can have.

export interface ImageHeader {
  format: "png" | "jpeg" | "gif";
  /** Size as stored, before any EXIF orientation. */
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngHeader(bytes: Uint8Array, view: DataView): ImageHeader | null {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") return null;
  return { format: "png", width: view.getUint32(16), height: view.getUint32(20) };
}

function gifHeader(bytes: Uint8Array, view: DataView): ImageHeader | null {
  if (bytes.length < 10) return null;
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (magic !== "GIF87a" && magic !== "GIF89a") return null;
  return { format: "gif", width: view.getUint16(6, true), height: view.getUint16(8, true) };
}

/** SOF markers (baseline, progressive, lossless, arithmetic); C4, C8 and CC are not frames. */
const isFrameMarker = (m: number) =>
  m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** SOF0..SOF7: Huffman coding, where every code is at least one bit; SOF9..SOF15 are arithmetic. */
const isHuffmanFrame = (m: number) => m <= 0xc7;

/**
 * Bytes needed for one bit per 8×8 block of every component (the frame header at `at` lists each
 * component's sampling factors); 0 when the header is cut short.
 */
function jpegMinBytes(bytes: Uint8Array, at: number, width: number, height: number): number {
  const components = bytes[at + 9] ?? 0;
  if (at + 10 + 3 * components > bytes.length) return 0;
  const factors = Array.from({ length: components }, (_, i) => bytes[at + 11 + 3 * i]);
  const hMax = Math.max(1, ...factors.map((f) => f >> 4));
  const vMax = Math.max(1, ...factors.map((f) => f & 15));
  let blocks = 0;
  for (const f of factors) {
    const w = Math.ceil((width * (f >> 4)) / hMax);
    const h = Math.ceil((height * (f & 15)) / vMax);
    blocks += Math.ceil(w / 8) * Math.ceil(h / 8);
  }
  return Math.ceil(blocks / 8);
}

/** Offset and marker of a JPEG's frame header (SOFn), or null. */
function jpegFrame(bytes: Uint8Array, view: DataView): { at: number; marker: number } | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null;
    const length = view.getUint16(at + 2);
    if (length < 2) return null;
    if (isFrameMarker(marker)) return at + 9 > bytes.length ? null : { at, marker };
    at += 2 + length;
  }
  return null;
}

function jpegHeader(bytes: Uint8Array, view: DataView): ImageHeader | null {
  const frame = jpegFrame(bytes, view);
  if (!frame) return null;
  return {
    format: "jpeg",
    height: view.getUint16(frame.at + 5),
    width: view.getUint16(frame.at + 7),
  };
}

/**
 * Fewest bytes a file of the size its header declares can have, where the format sets a floor:
 * a Huffman-coded JPEG spends at least one bit on every 8×8 block of every component. A shorter
 * file cannot hold the pixels it declares (it is truncated, or lies about its size). 0: no floor.
 */
export function minImageBytes(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const frame = jpegFrame(bytes, view);
  if (!frame || !isHuffmanFrame(frame.marker)) return 0;
  const height = view.getUint16(frame.at + 5);
  const width = view.getUint16(frame.at + 7);
  return jpegMinBytes(bytes, frame.at, width, height);
}

/** The header of a PNG, JPEG or GIF file with a non-zero size; null for anything else. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const header = pngHeader(bytes, view) ?? gifHeader(bytes, view) ?? jpegHeader(bytes, view);
  return header && header.width > 0 && header.height > 0 ? header : null;
}
