// Decoding of uploaded images (sharp; image-encode.ts encodes PNGs): auto-orient, pixel
// limits, strict decoding, and typed errors that the service maps to HTTP statuses. Small plain
// PNGs skip sharp (png-decode.ts); everything else takes one sharp call.
import sharp, { type Metadata } from "sharp";
import { type FramingOptions, type MnistInput, toMnistInput } from "./digit-framing.js";
import { minImageBytes, readImageHeader } from "./image-header.js";
import { decodePlainPng, type RawPixels } from "./png-decode.js";
import type { Preprocessing } from "./preprocess.js";
import { resizeImages } from "./resize.js";

export const SUPPORTED_IMAGE_FORMATS = ["png", "jpeg", "webp", "gif", "tiff"] as const;
export const SUPPORTED_IMAGE_MIME_TYPES = [
  "image/png",
  "image/jpeg",
  "image/webp",
  "image/gif",
  "image/tiff",
] as const;

export type ImageErrorCode = "undecodable" | "too_small" | "too_many_pixels" | "unsupported_type";

/** HTTP status for each error: corrupt input 400, too large 413, wrong type 415, too small 422. */
export const IMAGE_ERROR_STATUS: Record<ImageErrorCode, number> = {
  undecodable: 400,
  too_many_pixels: 413,
  unsupported_type: 415,
  too_small: 422,
};

export class ImageError extends Error {
  override readonly name = "ImageError";
  readonly status: number;
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.status = IMAGE_ERROR_STATUS[code];
  }
}

export const DEFAULT_MAX_PIXELS = 25_000_000;
export const DEFAULT_MIN_SIDE = 8;
export const DEFAULT_MAX_SIDE = 512;

export interface DecodeOptions {
  /** Largest width × height accepted (before any downscaling); default 25 megapixels. */
  maxPixels?: number;
  /** Smallest width and height accepted; default 8. */
  minSide?: number;
  /** Larger pictures are downscaled (antialiased, by libvips) to fit this side; default 512. */
  maxSide?: number;
}

export interface DecodedImage {
  /** Row-major grayscale in [0, 1], alpha composited onto a contrasting background. */
  pixels: Float32Array;
  width: number;
  height: number;
  /** Size as stored in the file, before orientation and downscaling. */
  originalWidth: number;
  originalHeight: number;
  format: (typeof SUPPORTED_IMAGE_FORMATS)[number];
  /** The decoded 8-bit samples (grey, grey+alpha, RGB or RGBA), for colour preprocessing. */
  raw: RawPixels;
}

export function isSupportedMimeType(type: string): boolean {
  const base = type.split(";")[0].trim().toLowerCase();
  return (SUPPORTED_IMAGE_MIME_TYPES as readonly string[]).includes(base);
}

function sharpError(e: unknown): ImageError {
  const message = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(message)) {
    return new ImageError("too_many_pixels", "image has more pixels than allowed");
  }
  if (/unsupported image format|buffer is empty/i.test(message)) {
    return new ImageError("undecodable", "not an image in a recognised format");
  }
  return new ImageError("undecodable", `image could not be decoded: ${message.split("\n")[0]}`);
}

/**
 * Gray = Rec. 601 luma. Alpha is composited onto black when the visible pixels are mostly
 * light (light strokes on a transparent canvas) and onto white otherwise.
 */
function toGray(data: Uint8Array, channels: number, count: number): Float32Array {
  const hasAlpha = channels === 2 || channels === 4;
  const colour = channels >= 3;
  const gray = new Float32Array(count);
  const alpha = hasAlpha ? new Float32Array(count) : null;
  let weighted = 0;
  let alphaSum = 0;
  for (let i = 0; i < count; i++) {
    const p = i * channels;
    const g = colour
      ? (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) / 255
      : data[p] / 255;
    gray[i] = g;
    if (alpha) {
      const a = data[p + channels - 1] / 255;
      alpha[i] = a;
      weighted += a * g;
      alphaSum += a;
    }
  }
  if (alpha) {
    const background = alphaSum > 0 && weighted / alphaSum > 0.5 ? 0 : 1;
    for (let i = 0; i < count; i++) gray[i] = alpha[i] * gray[i] + (1 - alpha[i]) * background;
  }
  return gray;
}

function checkPixels(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageError(
      "too_many_pixels",
      `image is ${width}×${height} pixels, more than the ${maxPixels} allowed`,
    );
  }
}

/** A file shorter than its format allows for the size it declares (see minImageBytes). */
function checkDataHoldsSize(bytes: Uint8Array, width: number, height: number): void {
  const needed = minImageBytes(bytes);
  if (bytes.length < needed) {
    throw new ImageError(
      "undecodable",
      `image declares ${width}×${height} pixels but its ${bytes.length} bytes cannot hold them (at least ${needed} needed): truncated or corrupt`,
    );
  }
}

function checkSides(width: number, height: number, minSide: number): void {
  if (width < minSide || height < minSide) {
    throw new ImageError(
      "too_small",
      `image is ${width}×${height} pixels; at least ${minSide}×${minSide} is needed`,
    );
  }
}

/** PNGs up to this many pixels are decoded in JS (decodePlainPng) when they need no downscaling. */
const JS_PNG_MAX_PIXELS = 256 * 256;

/** Format and stored size: from the header for PNG, JPEG and GIF, else from sharp's metadata. */
async function probe(bytes: Uint8Array, maxPixels: number) {
  const header = readImageHeader(bytes);
  if (header) return header;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" }).metadata();
  } catch (e) {
    throw sharpError(e);
  }
  const format = SUPPORTED_IMAGE_FORMATS.find((f) => f === meta.format);
  if (!format) {
    throw new ImageError(
      "unsupported_type",
      `${meta.format} images are not supported; send ${SUPPORTED_IMAGE_FORMATS.join(", ")}`,
    );
  }
  return { format, width: meta.width ?? 0, height: meta.height ?? 0 };
}

/**
 * Width × height as the file declares it, without decoding: from the header for PNG, JPEG and GIF,
 * from sharp's metadata otherwise; 0 for bytes that are not a readable image (decoding refuses them).
 */
export async function declaredPixels(bytes: Uint8Array): Promise<number> {
  const header = readImageHeader(bytes);
  if (header) return header.width * header.height;
  if (bytes.length === 0) return 0;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    return (meta.width ?? 0) * (meta.height ?? 0);
  } catch {
    return 0;
  }
}

/** One sharp pipeline: auto-orient, downscale to fit maxSide, 8-bit sRGB (plus alpha) raw pixels. */
async function decodeWithSharp(bytes: Uint8Array, maxPixels: number, maxSide: number) {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" })
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: "inside", withoutEnlargement: true })
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (e) {
    throw sharpError(e);
  }
}

/**
 * Decodes PNG, JPEG, WebP, GIF (first frame) or TIFF (first page) bytes to grayscale. Sizes are
 * checked from the header before decoding; small plain PNGs are decoded in JS, the rest by one
 * sharp call (WebP and TIFF need a metadata call first to learn their format and size).
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const minSide = options.minSide ?? DEFAULT_MIN_SIDE;
  const maxSide = options.maxSide ?? DEFAULT_MAX_SIDE;
  if (bytes.length === 0) throw new ImageError("undecodable", "empty image");
  const { format, width, height } = await probe(bytes, maxPixels);
  checkPixels(width, height, maxPixels);
  checkSides(width, height, minSide);
  if (format === "jpeg") checkDataHoldsSize(bytes, width, height);
  const small = format === "png" && width <= maxSide && height <= maxSide;
  const raw =
    (small && decodePlainPng(bytes, Math.min(maxPixels, JS_PNG_MAX_PIXELS))) ||
    (await decodeWithSharp(bytes, maxPixels, maxSide));
  return {
    pixels: toGray(raw.data, raw.channels, raw.width * raw.height),
    width: raw.width,
    height: raw.height,
    originalWidth: width,
    originalHeight: height,
    format,
    raw,
  };
}

/** decodeImage then toMnistInput: the service's whole image preprocessing for MNIST models. */
export async function imageToMnistInput(
  bytes: Uint8Array,
  options: DecodeOptions & FramingOptions = {},
): Promise<MnistInput & { width: number; height: number; format: DecodedImage["format"] }> {
  const image = await decodeImage(bytes, options);
  const input = toMnistInput(image.pixels, image.width, image.height, options);
  return {
    ...input,
    width: image.originalWidth,
    height: image.originalHeight,
    format: image.format,
  };
}

/** Everything that decides how an upload becomes model input (the model's preprocessing included). */
export type ImageInputOptions = DecodeOptions & FramingOptions & { preprocessing?: Preprocessing };

/** Pixels for a grayscale model: NHWC of `shape` ([H, W, 1]) in [0, 1], and what was done. */
export interface ModelInput {
  pixels: Float32Array;
  inverted: boolean;
  framed: boolean;
}

/** imageToMnistInput, resized to the model's input size when it is not 28×28. */
export async function imageToModelInput(
  bytes: Uint8Array,
  shape: readonly [number, number, number],
  options: ImageInputOptions = {},
): Promise<ModelInput> {
  const [h, w, c] = shape;
  if (c !== 1) throw new Error(`image input for a ${c}-channel model is not supported`);
  const input = await imageToMnistInput(bytes, options);
  const pixels =
    h === 28 && w === 28 ? input.pixels : resizeImages(input.pixels, 1, 28, 28, 1, h, w, "area");
  return { pixels, inverted: input.inverted, framed: input.framed };
}
