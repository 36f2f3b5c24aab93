// Decoding of uploaded images (the only module that imports sharp): auto-orient, pixel
// limits, strict decoding, and typed errors that the service maps to HTTP statuses.
import sharp, { type Metadata, type OutputInfo } from "sharp";
import { type FramingOptions, type MnistInput, toMnistInput } from "./digit-framing.js";

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

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR, read before libvips sees the bytes; null if not a PNG. */
function pngDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 24);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function checkPixels(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageError(
      "too_many_pixels",
      `image is ${width}×${height} pixels, more than the ${maxPixels} allowed`,
    );
  }
}

/** Decodes PNG, JPEG, WebP, GIF (first frame) or TIFF (first page) bytes to grayscale. */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const minSide = options.minSide ?? DEFAULT_MIN_SIDE;
  const maxSide = options.maxSide ?? DEFAULT_MAX_SIDE;
  if (bytes.length === 0) throw new ImageError("undecodable", "empty image");
  const claimed = pngDimensions(bytes);
  if (claimed) checkPixels(claimed.width, claimed.height, maxPixels);
  const input = { limitInputPixels: maxPixels, failOn: "error" as const };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, input).metadata();
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
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  checkPixels(width, height, maxPixels);
  if (width < minSide || height < minSide) {
    throw new ImageError(
      "too_small",
      `image is ${width}×${height} pixels; at least ${minSide}×${minSide} is needed`,
    );
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(bytes, input)
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: "inside", withoutEnlargement: true })
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw sharpError(e);
  }
  const { width: w, height: h, channels } = raw.info;
  return {
    pixels: toGray(raw.data, channels, w * h),
    width: w,
    height: h,
    originalWidth: width,
    originalHeight: height,
    format,
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
