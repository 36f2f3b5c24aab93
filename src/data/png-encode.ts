// A small PNG encoder for raw 8-bit pixels (grey, grey+alpha, RGB, RGBA): the service's reference
// images and preprocessed inputs are a few hundred bytes, too small to be worth a libvips call.
import { crc32, deflateSync } from "node:zlib";

/** PNG colour type for each channel count. */
const COLOUR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes `pixels` (row-major, interleaved, values in [0, 1]) as an 8-bit PNG. */
export function encodePng(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
): Buffer {
  const colourType = COLOUR_TYPE[channels];
  if (colourType === undefined) throw new RangeError(`PNG: ${channels} channels (1–4 allowed)`);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`PNG: size ${width}×${height} is not a positive integer size`);
  }
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`PNG: ${pixels.length} values for ${width}×${height}×${channels}`);
  }
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1); // filter byte 0 (none), then the row's samples
    for (let i = 0; i < stride; i++) {
      const v = pixels[y * stride + i];
      raw[row + 1 + i] = Math.round(Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * 255);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = colourType;
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
