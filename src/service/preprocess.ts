// Uploaded image bytes → the model's input pixels (decode, MNIST framing, resize to the model's size).
import { imageToMnistInput } from "../data/image.js";
import { resizeImages } from "../data/resize.js";

export interface PreprocessOptions {
  maxPixels: number;
  invert: "auto" | boolean;
  frame: boolean;
}

export interface ModelInput {
  pixels: Float32Array;
  inverted: boolean;
  framed: boolean;
}

/** Decodes one image and returns NHWC pixels of `shape` ([H, W, 1]) in [0, 1]. */
export async function toModelInput(
  bytes: Uint8Array,
  shape: readonly [number, number, number],
  options: PreprocessOptions,
): Promise<ModelInput> {
  const [h, w, c] = shape;
  if (c !== 1) throw new Error(`image input for a ${c}-channel model is not supported`);
  const input = await imageToMnistInput(bytes, options);
  const pixels =
    h === 28 && w === 28 ? input.pixels : resizeImages(input.pixels, 1, 28, 28, 1, h, w, "area");
  return { pixels, inverted: input.inverted, framed: input.framed };
}

/** Concatenates the inputs' pixels into one NHWC batch. */
export function stackInputs(inputs: readonly ModelInput[]): Float32Array {
  const per = inputs[0]?.pixels.length ?? 0;
  const out = new Float32Array(per * inputs.length);
  for (const [i, input] of inputs.entries()) out.set(input.pixels, i * per);
  return out;
}
