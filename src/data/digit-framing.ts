// Turns any grayscale picture of a digit into a 28×28 MNIST-style input: light ink on a dark
// background, cropped to the ink, scaled into 20×20 and centred by mass, as MNIST was made.
import { resizeImages } from "./resize.js";

export const MNIST_SIDE = 28;
const BOX = 20;
/** MNIST digits have their centre of mass at index (14, 14) on average. */
const CENTRE = 14;
/** Default level of stretched ink that counts for the bounding box. */
export const DEFAULT_INK_THRESHOLD = 0.05;
/** Below this contrast between background and the brightest ink there is no digit to frame. */
const MIN_CONTRAST = 0.1;

export interface FramingOptions {
  /** "auto" inverts when the border is light (dark ink on paper); default "auto". */
  invert?: "auto" | boolean;
  /** Crop to the ink, scale into 20×20, centre by mass; default true. */
  frame?: boolean;
  /** Ink (0..1 after background removal) at or above this counts for the box; default 0.05. */
  inkThreshold?: number;
}

export interface MnistInput {
  /** 28×28 row-major pixels in [0, 1], light on dark. */
  pixels: Float32Array;
  inverted: boolean;
  /** False when framing was off or found no ink (then the whole picture was resized). */
  framed: boolean;
}

/** Pixels of the outer ring, about 1/28 of the shorter side thick (at least 1 pixel). */
function borderValues(gray: Float32Array, w: number, h: number): Float32Array {
  const t = Math.min(Math.max(1, Math.floor(Math.min(w, h) / MNIST_SIDE)), Math.ceil(h / 2));
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    const row = y * w;
    if (y < t || y >= h - t) {
      for (let x = 0; x < w; x++) out.push(gray[row + x]);
    } else {
      for (let x = 0; x < Math.min(t, w); x++) out.push(gray[row + x], gray[row + w - 1 - x]);
    }
  }
  return Float32Array.from(out);
}

function mean(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length ? s / values.length : 0;
}

function median(values: Float32Array): number {
  const sorted = Float32Array.from(values).sort();
  return sorted.length ? sorted[sorted.length >> 1] : 0;
}

/** The border's median plus three robust standard deviations: ink must rise above it. */
function noiseFloor(border: Float32Array): number {
  const m = median(border);
  return m + 3 * 1.4826 * median(border.map((v) => Math.abs(v - m)));
}

function resizeTo(
  img: Float32Array,
  w: number,
  h: number,
  outW: number,
  outH: number,
): Float32Array {
  return w === outW && h === outH
    ? Float32Array.from(img)
    : resizeImages(img, 1, h, w, 1, outH, outW);
}

/** Noise floor to 0, brightest ink to 1; null when the picture has no contrast. */
function stretch(ink: Float32Array, floor: number): Float32Array | null {
  let peak = 0;
  for (const v of ink) if (v > peak) peak = v;
  const range = peak - floor;
  if (range < MIN_CONTRAST) return null;
  const out = new Float32Array(ink.length);
  for (let i = 0; i < ink.length; i++) {
    const v = (ink[i] - floor) / range;
    out[i] = Math.min(Math.max(v, 0), 1);
  }
  return out;
}

function inkBox(img: Float32Array, w: number, h: number, threshold: number) {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (img[y * w + x] >= threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

function crop(img: Float32Array, w: number, box: { x0: number; y0: number; w: number; h: number }) {
  const out = new Float32Array(box.w * box.h);
  for (let y = 0; y < box.h; y++) {
    const src = (box.y0 + y) * w + box.x0;
    out.set(img.subarray(src, src + box.w), y * box.w);
  }
  return out;
}

/** Pastes `img` into a 28×28 field so that its centre of mass lands on (14, 14). */
function centreByMass(img: Float32Array, w: number, h: number): Float32Array {
  let m = 0;
  let my = 0;
  let mx = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = img[y * w + x];
      m += v;
      my += v * y;
      mx += v * x;
    }
  }
  const oy = Math.round(CENTRE - my / m);
  const ox = Math.round(CENTRE - mx / m);
  const out = new Float32Array(MNIST_SIDE * MNIST_SIDE);
  for (let y = 0; y < h; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= MNIST_SIDE) continue;
    for (let x = 0; x < w; x++) {
      const tx = x + ox;
      if (tx >= 0 && tx < MNIST_SIDE) out[ty * MNIST_SIDE + tx] = img[y * w + x];
    }
  }
  return out;
}

function frameDigit(ink: Float32Array, w: number, h: number, floor: number, threshold: number) {
  const stretched = stretch(ink, floor);
  const box = stretched && inkBox(stretched, w, h, threshold);
  if (!stretched || !box) return null;
  const scale = BOX / Math.max(box.w, box.h);
  const bw = Math.max(1, Math.round(box.w * scale));
  const bh = Math.max(1, Math.round(box.h * scale));
  const scaled = resizeTo(crop(stretched, w, box), box.w, box.h, bw, bh);
  return centreByMass(scaled, bw, bh);
}

/** Converts a w×h grayscale picture (row-major, [0, 1]) into a 28×28 MNIST-style input. */
export function toMnistInput(
  gray: Float32Array,
  width: number,
  height: number,
  options: FramingOptions = {},
): MnistInput {
  if (gray.length !== width * height || width < 1 || height < 1) {
    throw new RangeError(`toMnistInput: ${gray.length} pixels do not make ${width}×${height}`);
  }
  const invertOption = options.invert ?? "auto";
  const border = borderValues(gray, width, height);
  const inverted = invertOption === "auto" ? mean(border) > 0.5 : invertOption;
  const ink = new Float32Array(gray.length);
  for (let i = 0; i < gray.length; i++) ink[i] = inverted ? 1 - gray[i] : gray[i];
  const inkBorder = inverted ? border.map((v) => 1 - v) : border;
  const framed =
    (options.frame ?? true)
      ? frameDigit(
          ink,
          width,
          height,
          noiseFloor(inkBorder),
          options.inkThreshold ?? DEFAULT_INK_THRESHOLD,
        )
      : null;
  const pixels = framed ?? resizeTo(ink, width, height, MNIST_SIDE, MNIST_SIDE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.min(Math.max(pixels[i], 0), 1);
  return { pixels, inverted, framed: framed !== null };
}
