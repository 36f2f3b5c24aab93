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
  const side = Math.min(t, w);
  let count = 0;
  for (let y = 0; y < h; y++) count += y < t || y >= h - t ? w : 2 * side;
  const out = new Float32Array(count);
  let at = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    if (y < t || y >= h - t) {
      out.set(gray.subarray(row, row + w), at);
      at += w;
    } else {
      for (let x = 0; x < side; x++) {
        out[at++] = gray[row + x];
        out[at++] = gray[row + w - 1 - x];
      }
    }
  }
  return out;
}

function mean(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length ? s / values.length : 0;
}

/** The element of rank `k` (what sorting then indexing would give), in linear time; reorders `a`. */
function select(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

function median(values: Float32Array): number {
  return values.length ? select(Float32Array.from(values), values.length >> 1) : 0;
}

/** The border's median plus three robust standard deviations: ink must rise above it. */
function noiseFloor(border: Float32Array): number {
  const m = median(border);
  const deviations = new Float32Array(border.length);
  for (let i = 0; i < border.length; i++) deviations[i] = Math.abs(border[i] - m);
  return m + 3 * 1.4826 * (border.length ? select(deviations, border.length >> 1) : 0);
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

interface Box {
  x0: number;
  y0: number;
  w: number;
  h: number;
}

/**
 * Ink (inverted if asked) stretched so the noise floor is 0 and the brightest ink 1, and the box
 * of stretched ink at or above `threshold`; null when the picture has no contrast or no ink.
 */
function stretchedInk(
  gray: Float32Array,
  inverted: boolean,
  w: number,
  h: number,
  floor: number,
  threshold: number,
): { stretched: Float32Array; box: Box } | null {
  const ink = Float32Array.from(gray);
  if (inverted) for (let i = 0; i < ink.length; i++) ink[i] = 1 - ink[i];
  let peak = 0;
  for (let i = 0; i < ink.length; i++) if (ink[i] > peak) peak = ink[i];
  const range = peak - floor;
  if (range < MIN_CONTRAST) return null;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let first = -1;
    let last = -1;
    for (let x = 0; x < w; x++) {
      const v = (ink[row + x] - floor) / range;
      ink[row + x] = Math.min(Math.max(v, 0), 1);
      if (ink[row + x] >= threshold) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first >= 0) {
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? null : { stretched: ink, box: { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 } };
}

/** Box-filter weights along one axis, flattened: output o reads `count[o]` inputs from `first[o]`. */
function areaAxis(inSize: number, outSize: number) {
  const scale = inSize / outSize;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const start = o * scale;
    const end = start + scale;
    first[o] = -1;
    for (let i = Math.floor(start); i < Math.min(Math.ceil(end), inSize); i++) {
      const overlap = Math.min(end, i + 1) - Math.max(start, i);
      if (overlap > 1e-12) {
        if (first[o] < 0) first[o] = i;
        count[o]++;
        weights.push(overlap / scale);
      }
    }
  }
  return { first, count, weight: Float64Array.from(weights) };
}

/** Area resize (as resizeImages' "area") of the `box` region of a w-wide image to outW×outH. */
function resizeBox(img: Float32Array, w: number, box: Box, outW: number, outH: number) {
  const rows = areaAxis(box.h, outH);
  const cols = areaAxis(box.w, outW);
  const tmp = new Float64Array(outH * box.w);
  for (let oy = 0, k = 0; oy < outH; oy++) {
    for (let j = 0; j < rows.count[oy]; j++, k++) {
      const src = (box.y0 + rows.first[oy] + j) * w + box.x0;
      const weight = rows.weight[k];
      for (let x = 0; x < box.w; x++) tmp[oy * box.w + x] += weight * img[src + x];
    }
  }
  const out = new Float32Array(outW * outH);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0, k = 0; ox < outW; ox++) {
      let acc = 0;
      for (let j = 0; j < cols.count[ox]; j++, k++) {
        acc += cols.weight[k] * tmp[oy * box.w + cols.first[ox] + j];
      }
      out[oy * outW + ox] = acc;
    }
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

function frameDigit(
  gray: Float32Array,
  inverted: boolean,
  w: number,
  h: number,
  floor: number,
  threshold: number,
) {
  const ink = stretchedInk(gray, inverted, w, h, floor, threshold);
  if (!ink) return null;
  const { stretched, box } = ink;
  const scale = BOX / Math.max(box.w, box.h);
  const bw = Math.max(1, Math.round(box.w * scale));
  const bh = Math.max(1, Math.round(box.h * scale));
  return centreByMass(resizeBox(stretched, w, box, bw, bh), bw, bh);
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
  if (inverted) for (let i = 0; i < border.length; i++) border[i] = 1 - border[i];
  const threshold = options.inkThreshold ?? DEFAULT_INK_THRESHOLD;
  const framed =
    (options.frame ?? true)
      ? frameDigit(gray, inverted, width, height, noiseFloor(border), threshold)
      : null;
  const pixels = framed ?? resizeTo(inkOf(gray, inverted), width, height, MNIST_SIDE, MNIST_SIDE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.min(Math.max(pixels[i], 0), 1);
  return { pixels, inverted, framed: framed !== null };
}

function inkOf(gray: Float32Array, inverted: boolean): Float32Array {
  const ink = Float32Array.from(gray);
  if (inverted) for (let i = 0; i < ink.length; i++) ink[i] = 1 - ink[i];
  return ink;
}
