import assert from "node:assert/strict";
import { test } from "node:test";
import sharp from "sharp";
import { decodeImage, imageToModelInput } from "../src/data/image.js";
import { loadDataset } from "../src/data/load.js";
import { prepareImage } from "../src/data/prepare-image.js";
import {
  type Preprocessing,
  preprocessingFor,
  preprocessingRecord,
  toModelInput,
} from "../src/data/preprocess.js";

/** A w×h RGB picture: a red left half, a blue right half, a green square in the middle. */
async function colourPng(w: number, h: number, alpha = false): Promise<Buffer> {
  const c = alpha ? 4 : 3;
  const raw = Buffer.alloc(w * h * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * c;
      const centre = Math.abs(x - w / 2) < w / 6 && Math.abs(y - h / 2) < h / 6;
      raw[i] = !centre && x < w / 2 ? 255 : 0;
      raw[i + 1] = centre ? 255 : 0;
      raw[i + 2] = !centre && x >= w / 2 ? 255 : 0;
      if (alpha) raw[i + 3] = y < h / 4 ? 0 : 255;
    }
  }
  return sharp(raw, { raw: { width: w, height: h, channels: c } })
    .png()
    .toBuffer();
}

/** A dark digit-like stroke on white paper, grayscale. */
async function digitPng(w: number, h: number): Promise<Buffer> {
  const raw = Buffer.alloc(w * h, 255);
  for (let y = Math.floor(h / 4); y < (3 * h) / 4; y++) {
    for (let x = Math.floor(w / 2) - 2; x < w / 2 + 2; x++) raw[y * w + x] = 10;
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 1 } })
    .png()
    .toBuffer();
}

const colour = (size: number, resize: Preprocessing["resize"], pad = [0]) =>
  preprocessingFor([size, size, 3], { resize, pad });

test("a manifest record without resize or frame on one channel means MNIST digit framing", () => {
  const p = preprocessingFor([28, 28, 1], { normalize: { mean: [0.1307], std: [0.3081] } });
  assert.deepEqual(p, {
    height: 28,
    width: 28,
    channels: 1,
    resize: "stretch",
    pad: [0],
    frame: "mnist",
    invert: "auto",
  });
  const rgb = preprocessingFor([32, 32, 3], {});
  assert.equal(rgb.frame, undefined);
  assert.equal(rgb.invert, false);
  assert.deepEqual(rgb.pad, [0, 0, 0]);
  assert.deepEqual(
    preprocessingFor([32, 32, 3], preprocessingRecord(colour(32, "fit", [1, 0.5, 0]))),
    colour(32, "fit", [1, 0.5, 0]),
  );
});

test("bad preprocessing records are refused with the field named", () => {
  assert.throws(() => preprocessingFor([32, 32, 3], { frame: "mnist" }), /frame "mnist" needs/);
  assert.throws(() => preprocessingFor([32, 32, 3], { resize: "squash" }), /resize/);
  assert.throws(() => preprocessingFor([32, 32, 3], { pad: [0, 0] }), /pad: 2 values/);
  assert.throws(() => preprocessingFor([32, 32, 2], {}), /2 channels/);
});

test("uploads for MNIST-era models are prepared exactly as before (framing on and off, 28 and 7)", async () => {
  for (const bytes of [await digitPng(40, 60), await colourPng(30, 30)]) {
    for (const shape of [
      [28, 28, 1],
      [7, 7, 1],
    ] as const) {
      for (const frame of [undefined, false, true]) {
        const before = await imageToModelInput(bytes, shape, { frame });
        const now = await prepareImage(bytes, shape, { frame });
        assert.deepEqual(now, before, `${shape} frame=${frame}`);
      }
    }
  }
});

test("a colour model gets colour pixels: red left, blue right, green centre", async () => {
  const image = await decodeImage(await colourPng(64, 64));
  const { pixels, framed, inverted } = toModelInput(image, colour(16, "stretch"));
  assert.equal(pixels.length, 16 * 16 * 3);
  assert.equal(framed, false);
  assert.equal(inverted, false);
  const at = (x: number, y: number) =>
    Array.from(pixels.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
  assert.deepEqual(at(1, 1), [1, 0, 0]);
  assert.deepEqual(at(14, 1), [0, 0, 1]);
  assert.deepEqual(at(8, 8), [0, 1, 0]);
});

test("fit pads with the padding colour, cover crops the centre, stretch keeps everything", async () => {
  const image = await decodeImage(await colourPng(64, 32));
  const fit = toModelInput(image, colour(16, "fit", [1, 1, 1])).pixels;
  // 64×32 fits as 16×8 rows 4..11; rows 0..3 are the white padding.
  assert.deepEqual(Array.from(fit.subarray(0, 3)), [1, 1, 1]);
  assert.deepEqual(Array.from(fit.subarray((5 * 16 + 0) * 3, (5 * 16 + 0) * 3 + 3)), [1, 0, 0]);
  const cover = toModelInput(image, colour(16, "cover")).pixels;
  // The centre 32×32 crop: red strip left (x 16..31 of 64 minus the green square), blue right.
  assert.deepEqual(Array.from(cover.subarray(0, 3)), [1, 0, 0]);
  assert.deepEqual(Array.from(cover.subarray(15 * 3, 15 * 3 + 3)), [0, 0, 1]);
  const stretch = toModelInput(image, colour(16, "stretch")).pixels;
  assert.deepEqual(Array.from(stretch.subarray(0, 3)), [1, 0, 0]);
});

test("grayscale models take luma; transparent pixels become the padding colour", async () => {
  const image = await decodeImage(await colourPng(32, 32, true));
  const grey = toModelInput(
    image,
    preprocessingFor([32, 32, 1], { resize: "stretch", pad: [0.5] }),
  );
  assert.equal(grey.pixels.length, 32 * 32);
  assert.equal(grey.framed, false);
  assert.ok(Math.abs(grey.pixels[0] - 0.5) < 1e-6, `transparent pixel ${grey.pixels[0]}`);
  const red = grey.pixels[20 * 32 + 1];
  assert.ok(Math.abs(red - 0.299) < 1e-6, `red luma ${red}`);
  const inverted = toModelInput(image, preprocessingFor([32, 32, 1], { resize: "stretch" }), {
    invert: true,
  });
  assert.equal(inverted.inverted, true);
  assert.ok(Math.abs(inverted.pixels[20 * 32 + 1] - (1 - 0.299)) < 1e-6);
});

test("MNIST and mnist7 record that they are framed digits, as the rule for older records reads them", async () => {
  for (const [name, side] of [
    ["mnist", 28],
    ["mnist7", 7],
  ] as const) {
    const data = await loadDataset(name, "test");
    assert.equal(data.preprocessing?.frame, "mnist", name);
    const shape = [side, side, 1] as const;
    // What an exported model now states is what a model exported without it was served with.
    assert.deepEqual(preprocessingFor(shape, data.preprocessing), preprocessingFor(shape, {}));
  }
});
