import assert from "node:assert/strict";
import { before, test } from "node:test";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import type { Dataset } from "../src/data/dataset.js";
import {
  decodeImage,
  IMAGE_ERROR_STATUS,
  ImageError,
  type ImageErrorCode,
  imageToMnistInput,
  isSupportedMimeType,
} from "../src/data/image.js";
import { loadDataset } from "../src/data/load.js";
import { PNG_SIGNATURE, pngChunk } from "./png-chunks.js";

let mnist: Dataset;
before(async () => {
  mnist = await loadDataset("mnist", "test");
});

function digitBytes(i: number, invert = false): Buffer {
  const out = Buffer.alloc(784);
  for (let p = 0; p < 784; p++) {
    const v = mnist.images[i * 784 + p];
    out[p] = Math.round(255 * (invert ? 1 - v : v));
  }
  return out;
}

function digit(i: number): Float32Array {
  return mnist.images.slice(i * 784, (i + 1) * 784);
}

/** A digit as a real image file: scaled ×4 with a margin, in a chosen format. */
function encode(i: number, format: "png" | "jpeg" | "webp" | "gif" | "tiff", invert = false) {
  const background = invert ? 255 : 0;
  return sharp(digitBytes(i, invert), { raw: { width: 28, height: 28, channels: 1 } })
    .resize(112, 112, { kernel: "cubic" })
    .extend({
      top: 10,
      bottom: 30,
      left: 40,
      right: 5,
      background: { r: background, g: background, b: background },
    })
    .toFormat(format)
    .toBuffer();
}

function correlation(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < n; k++) {
    ab += (a[k] - ma) * (b[k] - mb);
    aa += (a[k] - ma) ** 2;
    bb += (b[k] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

async function rejectsWith(bytes: Uint8Array, code: ImageErrorCode, options = {}) {
  await assert.rejects(decodeImage(bytes, options), (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected ImageError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, IMAGE_ERROR_STATUS[code]);
    return true;
  });
}

test("PNG and JPEG digits decode and frame back to the MNIST digit", async () => {
  for (const format of ["png", "jpeg"] as const) {
    for (const i of [0, 1, 2]) {
      const out = await imageToMnistInput(await encode(i, format));
      assert.deepEqual([out.format, out.width, out.height], [format, 157, 152]);
      assert.deepEqual([out.inverted, out.framed], [false, true]);
      const r = correlation(out.pixels, digit(i));
      assert.ok(r > 0.9, `${format} digit ${i}: correlation ${r}`);
    }
  }
});

test("a dark digit on light paper is inverted; WebP, GIF and TIFF decode too", async () => {
  for (const format of ["jpeg", "webp", "gif", "tiff"] as const) {
    const out = await imageToMnistInput(await encode(3, format, true));
    assert.equal(out.inverted, true, format);
    const r = correlation(out.pixels, digit(3));
    assert.ok(r > 0.9, `${format}: correlation ${r}`);
  }
});

test("black ink on a transparent canvas is composited onto white, then inverted", async () => {
  const rgba = Buffer.alloc(784 * 4);
  const ink = digitBytes(4);
  for (let p = 0; p < 784; p++) rgba[p * 4 + 3] = ink[p];
  const png = await sharp(rgba, { raw: { width: 28, height: 28, channels: 4 } })
    .png()
    .toBuffer();
  const out = await imageToMnistInput(png);
  assert.equal(out.inverted, true);
  assert.ok(correlation(out.pixels, digit(4)) > 0.99);
});

test("EXIF orientation is applied", async () => {
  const stored = await sharp(digitBytes(5), { raw: { width: 28, height: 28, channels: 1 } })
    .rotate(270)
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const upright = await decodeImage(stored);
  assert.ok(correlation(upright.pixels, digit(5)) > 0.95);
});

test("large pictures are downscaled to maxSide before conversion", async () => {
  const big = await sharp({
    create: { width: 2000, height: 1000, channels: 3, background: "#fff" },
  })
    .png()
    .toBuffer();
  const d = await decodeImage(big, { maxSide: 100 });
  assert.deepEqual([d.width, d.height, d.originalWidth, d.pixels.length], [100, 50, 2000, 5000]);
  assert.ok(Math.abs(d.pixels[0] - 1) < 1e-6);
});

/** A PNG signature and an IHDR claiming width × height 8-bit gray pixels, then a tiny IDAT. */
function pngClaiming(width: number, height: number, complete: boolean): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const rest = complete
    ? [pngChunk("IDAT", deflateSync(Buffer.alloc(100))), pngChunk("IEND", Buffer.alloc(0))]
    : [];
  return Buffer.concat([PNG_SIGNATURE, pngChunk("IHDR", ihdr), ...rest]);
}

test("a PNG header claiming 50000×50000 pixels is too_many_pixels (413)", async () => {
  await rejectsWith(pngClaiming(50000, 50000, false), "too_many_pixels");
  await rejectsWith(pngClaiming(50000, 50000, true), "too_many_pixels");
  // A JPEG has no pre-check: libvips' own pixel limit answers the same way.
  await rejectsWith(await encode(0, "jpeg"), "too_many_pixels", { maxPixels: 1000 });
});

test("corrupt, truncated, empty and text input are undecodable (400)", async () => {
  const png = await encode(0, "png");
  const corrupt = Buffer.from(png);
  for (let k = 60; k < corrupt.length; k += 7) corrupt[k] ^= 0xff;
  await rejectsWith(corrupt, "undecodable");
  await rejectsWith(
    Uint8Array.from({ length: 500 }, (_, k) => (k * 37) % 256),
    "undecodable",
  );
  const jpeg = await sharp({
    create: {
      width: 400,
      height: 400,
      channels: 3,
      background: "#808080",
      noise: { type: "gaussian", mean: 128, sigma: 40 },
    },
  })
    .jpeg()
    .toBuffer();
  await rejectsWith(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), "undecodable");
  await rejectsWith(png.subarray(0, png.length - 40), "undecodable");
  await rejectsWith(new Uint8Array(0), "undecodable");
  await rejectsWith(Buffer.from("this is a text file, not a PNG\n"), "undecodable");
});

test("a 1×1 image is too_small (422); SVG is unsupported_type (415)", async () => {
  const one = await sharp({ create: { width: 1, height: 1, channels: 3, background: "#000" } })
    .png()
    .toBuffer();
  await rejectsWith(one, "too_small");
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="20"/></svg>';
  await rejectsWith(Buffer.from(svg), "unsupported_type");
});

test("error statuses and MIME types", () => {
  assert.deepEqual(IMAGE_ERROR_STATUS, {
    undecodable: 400,
    too_many_pixels: 413,
    unsupported_type: 415,
    too_small: 422,
  });
  assert.ok(isSupportedMimeType("image/PNG; charset=binary"));
  assert.ok(isSupportedMimeType("image/tiff"));
  assert.ok(!isSupportedMimeType("image/svg+xml"));
  assert.ok(!isSupportedMimeType("text/plain"));
});
