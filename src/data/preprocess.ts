// How a decoded picture becomes a model's input (size, channels, resize mode, digit framing),
// described once per model and applied by one function to training, reference and uploaded images.
import { z } from "zod";
import { type FramingOptions, MNIST_SIDE, toMnistInput } from "./digit-framing.js";
import type { RawPixels } from "./png-decode.js";
import { resizeImages } from "./resize.js";

/** fit: scale into the square and pad; cover: scale over it and crop the centre; stretch: both axes. */
export const RESIZE_MODES = ["fit", "cover", "stretch"] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

/** Everything that decides how one decoded image becomes an NHWC input of the model. */
export interface Preprocessing {
  height: number;
  width: number;
  channels: 1 | 3;
  resize: ResizeMode;
  /** Canvas colour for `fit` and for transparent pixels, one value in [0, 1] per channel. */
  pad: number[];
  /** "mnist": crop to the ink, scale into 20×20 and centre by mass, as MNIST was made (1 channel). */
  frame?: "mnist";
  /** Light-on-dark inversion: "auto" inverts when the border is light. */
  invert: "auto" | boolean;
}

/** The fields a manifest's or ONNX model's `input.preprocessing` may hold (others are kept, e.g. normalize). */
export const PreprocessingRecordSchema = z.looseObject({
  resize: z.enum(RESIZE_MODES).optional(),
  pad: z.array(z.number().min(0).max(1)).min(1).max(3).optional(),
  /** `true` (an older spelling) is "mnist"; `false` is no framing. */
  frame: z
    .union([z.literal("mnist"), z.boolean()])
    .optional()
    .transform((f) => (f === true ? "mnist" : f === false ? undefined : f)),
  invert: z.union([z.literal("auto"), z.boolean()]).optional(),
});

export class PreprocessingError extends Error {
  override readonly name = "PreprocessingError";
}

/**
 * The preprocessing of a model input [H, W, C] described by `record`. A record with neither
 * `resize` nor `frame` predates these fields: on one channel it means MNIST digit framing, which
 * is what every such model was trained on.
 */
export function preprocessingFor(
  shape: readonly [number, number, number],
  record: Record<string, unknown> = {},
  source = "input.preprocessing",
): Preprocessing {
  const [height, width, channels] = shape;
  if (channels !== 1 && channels !== 3) {
    throw new PreprocessingError(`${source}: ${channels} channels; images have 1 or 3`);
  }
  const parsed = PreprocessingRecordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PreprocessingError(`${source}.${issue.path.join(".")}: ${issue.message}`);
  }
  const p = parsed.data;
  const legacy = p.resize === undefined && !("frame" in (record ?? {})) && channels === 1;
  const frame = legacy ? "mnist" : p.frame;
  if (frame && channels !== 1) {
    throw new PreprocessingError(
      `${source}: frame "mnist" needs a 1-channel input, not ${channels}`,
    );
  }
  const pad = p.pad ?? [0];
  if (pad.length !== 1 && pad.length !== channels) {
    throw new PreprocessingError(`${source}.pad: ${pad.length} values for ${channels} channels`);
  }
  return {
    height,
    width,
    channels,
    resize: p.resize ?? "stretch",
    pad: Array.from({ length: channels }, (_, c) => pad[pad.length === 1 ? 0 : c]),
    ...(frame ? { frame } : {}),
    invert: p.invert ?? (frame ? "auto" : false),
  };
}

/** The record to store in a manifest or ONNX metadata for `p` (shape travels separately). */
export function preprocessingRecord(p: Preprocessing): Record<string, unknown> {
  return {
    resize: p.resize,
    pad: p.pad,
    ...(p.frame ? { frame: p.frame } : {}),
    invert: p.invert,
  };
}

/** Per-request overrides: `frame: false` turns digit framing off, `true` asks for it on 1 channel. */
export type PreprocessingOverrides = Pick<FramingOptions, "invert" | "frame" | "inkThreshold">;

export interface PreparedInput {
  /** NHWC pixels of one image, H×W×C, in [0, 1]. */
  pixels: Float32Array;
  inverted: boolean;
  framed: boolean;
}

/** A decoded picture as preprocessing needs it (the fields of image.ts's DecodedImage it reads). */
interface Decoded {
  /** Row-major grayscale in [0, 1]. */
  pixels: Float32Array;
  width: number;
  height: number;
  /** The decoded 8-bit samples (grey, grey+alpha, RGB or RGBA). */
  raw: RawPixels;
}

/** The one function from a decoded image to the model's input. */
export function toModelInput(
  image: Decoded,
  p: Preprocessing,
  overrides: PreprocessingOverrides = {},
): PreparedInput {
  const invert = overrides.invert ?? p.invert;
  const digit = p.channels === 1 && (p.frame === "mnist" || overrides.frame === true);
  if (digit) {
    const input = toMnistInput(image.pixels, image.width, image.height, {
      invert,
      frame: overrides.frame ?? true,
      inkThreshold: overrides.inkThreshold,
    });
    const pixels =
      p.height === MNIST_SIDE && p.width === MNIST_SIDE
        ? input.pixels
        : resizeImages(input.pixels, 1, MNIST_SIDE, MNIST_SIDE, 1, p.height, p.width, "area");
    return { pixels, inverted: input.inverted, framed: input.framed };
  }
  const { pixels: flat, inverted } = toChannels(image, p, invert);
  return { pixels: resizeInto(flat, image.width, image.height, p), inverted, framed: false };
}

/** Grey value of an RGB sample: exact when the sample is grey, Rec. 601 luma otherwise. */
function grey(r: number, g: number, b: number): number {
  return r === g && g === b ? r / 255 : (0.299 * r + 0.587 * g + 0.114 * b) / 255;
}

/** The raw samples as `p.channels` floats per pixel, alpha composited onto the padding colour. */
function toChannels(image: Decoded, p: Preprocessing, invert: "auto" | boolean) {
  const { data, channels: rc } = image.raw;
  const count = image.width * image.height;
  const c = p.channels;
  const out = new Float32Array(count * c);
  const hasAlpha = rc === 2 || rc === 4;
  for (let i = 0; i < count; i++) {
    const s = i * rc;
    const a = hasAlpha ? data[s + rc - 1] / 255 : 1;
    for (let k = 0; k < c; k++) {
      let v: number;
      if (rc < 3) v = data[s] / 255;
      else if (c === 3) v = data[s + k] / 255;
      else v = grey(data[s], data[s + 1], data[s + 2]);
      out[i * c + k] = a === 1 ? v : a * v + (1 - a) * p.pad[k];
    }
  }
  const inverted = invert === "auto" ? borderMean(out, image.width, image.height, c) > 0.5 : invert;
  if (inverted) for (let i = 0; i < out.length; i++) out[i] = 1 - out[i];
  return { pixels: out, inverted };
}

function borderMean(px: Float32Array, w: number, h: number, c: number): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (y !== 0 && y !== h - 1 && x !== 0 && x !== w - 1) continue;
      for (let k = 0; k < c; k++) sum += px[(y * w + x) * c + k];
      n += c;
    }
  }
  return n ? sum / n : 0;
}

/** Resizes a w×h×C picture to the model's size by `p.resize` (area averaging throughout). */
function resizeInto(px: Float32Array, w: number, h: number, p: Preprocessing): Float32Array {
  const c = p.channels;
  if (p.resize === "stretch" || (w * p.height === h * p.width && p.resize !== "cover")) {
    return w === p.width && h === p.height
      ? px
      : resizeImages(px, 1, h, w, c, p.height, p.width, "area");
  }
  if (p.resize === "cover") {
    // Crop the centre region with the model's aspect ratio, then scale it.
    const scale = Math.min(w / p.width, h / p.height);
    const cw = Math.max(1, Math.round(p.width * scale));
    const ch = Math.max(1, Math.round(p.height * scale));
    const x0 = Math.floor((w - cw) / 2);
    const y0 = Math.floor((h - ch) / 2);
    const crop = new Float32Array(cw * ch * c);
    for (let y = 0; y < ch; y++) {
      const from = ((y0 + y) * w + x0) * c;
      crop.set(px.subarray(from, from + cw * c), y * cw * c);
    }
    return cw === p.width && ch === p.height
      ? crop
      : resizeImages(crop, 1, ch, cw, c, p.height, p.width, "area");
  }
  // fit: scale the whole picture inside, centre it on the padding colour.
  const scale = Math.min(p.width / w, p.height / h);
  const sw = Math.max(1, Math.min(p.width, Math.round(w * scale)));
  const sh = Math.max(1, Math.min(p.height, Math.round(h * scale)));
  const scaled = resizeImages(px, 1, h, w, c, sh, sw, "area");
  const out = new Float32Array(p.width * p.height * c);
  for (let i = 0; i < p.width * p.height; i++) out.set(p.pad, i * c);
  const x0 = Math.floor((p.width - sw) / 2);
  const y0 = Math.floor((p.height - sh) / 2);
  for (let y = 0; y < sh; y++) {
    out.set(scaled.subarray(y * sw * c, (y + 1) * sw * c), ((y0 + y) * p.width + x0) * c);
  }
  return out;
}
