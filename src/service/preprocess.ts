// Image preprocessing on the main thread, for engines without workers (the micro-batcher):
// decode and the model's preprocessing (prepareImage), then one NHWC batch.
import type { ImageInputOptions, ModelInput } from "../data/image.js";
import { prepareImage } from "../data/prepare-image.js";

export type { ModelInput } from "../data/image.js";

/** Decodes every image on this thread; the pixels of all of them as one batch. */
export async function preprocessImages(
  images: readonly Uint8Array[],
  shape: readonly [number, number, number],
  options: ImageInputOptions,
): Promise<{ batch: Float32Array; inputs: ModelInput[] }> {
  const inputs = await Promise.all(images.map((bytes) => prepareImage(bytes, shape, options)));
  return { batch: stackInputs(inputs), inputs };
}

/** Concatenates the inputs' pixels into one NHWC batch. */
export function stackInputs(inputs: readonly ModelInput[]): Float32Array {
  const per = inputs[0]?.pixels.length ?? 0;
  const out = new Float32Array(per * inputs.length);
  for (const [i, input] of inputs.entries()) out.set(input.pixels, i * per);
  return out;
}
