import assert from "node:assert/strict";
import { test } from "node:test";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { decodeImage, ImageError, type ImageErrorCode } from "../src/data/image.js";
import { readImageHeader } from "../src/data/image-header.js";
import { decodePlainPng, type RawPixels } from "../src/data/png-decode.js";
import { PNG_SIGNATURE, pngChunk } from "./png-chunks.js";

const W = 30;
const H = 20;

function noise(length: number, seed = 7919): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * seed + ((i * i) >> 3)) % 256;
  return out;
}

function ihdr(width: number, height: number, colourType: number, depth = 8, interlace = 0) {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([depth, colourType, 0, 0, interlace], 8);
  return pngChunk("IHDR", data);
}

/** Row filter `f` applied to `row` given the previous raw row (PNG spec, section 9). */
function filterRow(f: number, row: Buffer, prev: Buffer | null, bpp: number): Buffer {
  const out = Buffer.alloc(row.length + 1);
  out[0] = f;
  for (let x = 0; x < row.length; x++) {
    const a = x >= bpp ? row[x - bpp] : 0;
    const b = prev ? prev[x] : 0;
    const c = prev && x >= bpp ? prev[x - bpp] : 0;
    const p = a + b - c;
    const paeth =
      Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
          ? b
          : c;
    const predictor = [0, a, b, (a + b) >> 1, paeth][f];
    out[x + 1] = (row[x] - predictor) & 0xff;
  }
  return out;
}

/** An RGB PNG written by hand, row y filtered with type y % 5, extra chunks before IDAT. */
function handPng(pixels: Buffer, extra: Buffer[] = []): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < H; y++) {
    const row = pixels.subarray(y * W * 3, (y + 1) * W * 3);
    const prev = y > 0 ? pixels.subarray((y - 1) * W * 3, y * W * 3) : null;
    rows.push(filterRow(y % 5, row, prev, 3));
  }
  const idat = deflateSync(Buffer.concat(rows));
  const half = idat.length >> 1;
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(W, H, 2),
    ...extra,
    pngChunk("IDAT", idat.subarray(0, half)),
    pngChunk("IDAT", idat.subarray(half)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** sharp's raw output always has 3 (or 4 with alpha) bands: widen grey the same way. */
function asSharpLayout(raw: RawPixels): Buffer {
  if (raw.channels >= 3) return Buffer.from(raw.data);
  const alpha = raw.channels === 2;
  const out = Buffer.alloc(raw.width * raw.height * (alpha ? 4 : 3));
  for (let i = 0, o = 0; i < raw.data.length; i += raw.channels) {
    out[o++] = raw.data[i];
    out[o++] = raw.data[i];
    out[o++] = raw.data[i];
    if (alpha) out[o++] = raw.data[i + 1];
  }
  return out;
}

async function assertSameAsSharp(png: Buffer, label: string) {
  const mine = decodePlainPng(png, 1e6);
  assert.ok(mine, `${label}: the JS decoder declined it`);
  const ref = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([mine.width, mine.height], [ref.info.width, ref.info.height], label);
  assert.ok(asSharpLayout(mine).equals(ref.data), `${label}: pixels differ from sharp's`);
}

test("the JS PNG decoder gives sharp's pixels for grey, grey+alpha, RGB, RGBA and palette PNGs", async () => {
  const cases = [
    { channels: 1, grey: true, palette: false },
    { channels: 2, grey: true, palette: false },
    { channels: 3, grey: false, palette: false },
    { channels: 3, grey: false, palette: true },
    { channels: 4, grey: false, palette: false },
  ] as const;
  for (const { channels, grey, palette } of cases) {
    for (const adaptiveFiltering of [false, true]) {
      let image = sharp(noise(W * H * channels), { raw: { width: W, height: H, channels } });
      if (grey) image = image.toColourspace("b-w");
      const png = await image.png({ palette, adaptiveFiltering }).toBuffer();
      await assertSameAsSharp(png, `${channels} channels, palette ${palette}`);
    }
  }
});

test("every row filter (none, sub, up, average, Paeth) and split IDAT chunks decode exactly", async () => {
  const pixels = noise(W * H * 3, 104729);
  const png = handPng(pixels, [pngChunk("tEXt", Buffer.from("Comment\0hand made"))]);
  const mine = decodePlainPng(png, 1e6);
  assert.ok(mine && Buffer.from(mine.data).equals(pixels));
  await assertSameAsSharp(png, "hand-made");
});

test("anything unusual is left to sharp: the JS decoder returns null", async () => {
  const pixels = noise(W * H * 3);
  const good = handPng(pixels);
  const raw = { raw: { width: W, height: H, channels: 3 as const } };
  const declined: Record<string, Buffer> = {
    interlaced: await sharp(pixels, raw).png({ progressive: true }).toBuffer(),
    "16-bit": await sharp(pixels, raw).toColourspace("rgb16").png().toBuffer(),
    gamma: handPng(pixels, [pngChunk("gAMA", Buffer.from([0, 0, 0xb1, 0x8f]))]),
    "colour profile": handPng(pixels, [pngChunk("iCCP", Buffer.from("x\0\0"))]),
    orientation: handPng(pixels, [pngChunk("eXIf", Buffer.alloc(8))]),
    transparency: handPng(pixels, [pngChunk("tRNS", Buffer.alloc(6))]),
    truncated: good.subarray(0, good.length - 20),
    "trailing bytes": Buffer.concat([good, Buffer.from("junk")]),
    "bad CRC": Buffer.from(good).fill(0, good.length - 16, good.length - 13),
    "bad IHDR": Buffer.concat([
      PNG_SIGNATURE,
      ihdr(W, H, 2, 8, 0).fill(7, 24, 25),
      good.subarray(33),
    ]),
  };
  for (const [label, png] of Object.entries(declined)) {
    assert.equal(decodePlainPng(png, 1e6), null, label);
  }
  assert.ok(decodePlainPng(good, W * H));
  assert.equal(decodePlainPng(good, W * H - 1), null, "more pixels than allowed");
});

test("decodeImage gives the same grey pixels from a JS-decoded PNG and a sharp-decoded TIFF", async () => {
  for (const channels of [1, 2, 3, 4] as const) {
    const image = () =>
      sharp(noise(W * H * channels), { raw: { width: W, height: H, channels } }).toColourspace(
        channels <= 2 ? "b-w" : "srgb",
      );
    const png = await decodeImage(await image().png().toBuffer());
    const tiff = await decodeImage(await image().tiff({ compression: "lzw" }).toBuffer());
    assert.deepEqual([png.width, png.height, tiff.width, tiff.height], [W, H, W, H]);
    for (let i = 0; i < png.pixels.length; i++) {
      assert.ok(
        Math.abs(png.pixels[i] - tiff.pixels[i]) < 1e-6,
        `${channels} channels, pixel ${i}`,
      );
    }
  }
});

test("readImageHeader reads the stored size of PNG, JPEG (baseline, progressive) and GIF like sharp", async () => {
  const base = () => sharp(noise(57 * 31 * 3), { raw: { width: 57, height: 31, channels: 3 } });
  const files = {
    png: await base().png().toBuffer(),
    jpeg: await base().jpeg().toBuffer(),
    progressive: await base().jpeg({ progressive: true }).toBuffer(),
    rotated: await base().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    gif: await base().gif().toBuffer(),
  };
  for (const [label, bytes] of Object.entries(files)) {
    const meta = await sharp(bytes).metadata();
    const header = readImageHeader(bytes);
    assert.deepEqual(
      header,
      { format: meta.format, width: meta.width, height: meta.height },
      label,
    );
  }
  for (const other of [
    await base().webp().toBuffer(),
    await base().tiff().toBuffer(),
    Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
    Buffer.from([0xff, 0xd8, 0xff]),
    Buffer.alloc(0),
  ]) {
    assert.equal(readImageHeader(other), null);
  }
});

async function rejectsWith(bytes: Uint8Array, code: ImageErrorCode, options = {}) {
  await assert.rejects(decodeImage(bytes, options), (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected ImageError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test("the one-call decoder answers 413, 415, 422 and 400 as before, for every path", async () => {
  const gif = await sharp(noise(40 * 40 * 3), { raw: { width: 40, height: 40, channels: 3 } })
    .gif()
    .toBuffer();
  const jpeg = await sharp(noise(40 * 40 * 3), { raw: { width: 40, height: 40, channels: 3 } })
    .jpeg()
    .toBuffer();
  const bigJpeg = Buffer.from(jpeg);
  const sof = bigJpeg.indexOf(Buffer.from([0xff, 0xc0]));
  bigJpeg.writeUInt16BE(60000, sof + 5);
  bigJpeg.writeUInt16BE(60000, sof + 7);
  await rejectsWith(bigJpeg, "too_many_pixels");
  await rejectsWith(gif, "too_many_pixels", { maxPixels: 1599 });
  await rejectsWith(jpeg, "too_small", { minSide: 41 });
  await rejectsWith(gif.subarray(0, gif.length >> 1), "undecodable");
  await rejectsWith(jpeg.subarray(0, jpeg.length >> 1), "undecodable");
  await rejectsWith(handPng(noise(W * H * 3)).subarray(0, 80), "undecodable");
  const bmpLike = Buffer.concat([Buffer.from("BM"), noise(200)]);
  await rejectsWith(bmpLike, "undecodable");
  const avif = await sharp(noise(40 * 40 * 3), { raw: { width: 40, height: 40, channels: 3 } })
    .heif({ compression: "av1" })
    .toBuffer()
    .catch(() => null);
  if (avif) await rejectsWith(avif, "unsupported_type");
  const ok = await decodeImage(gif);
  assert.deepEqual([ok.format, ok.width, ok.height, ok.originalWidth], ["gif", 40, 40, 40]);
});
