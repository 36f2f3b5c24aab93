// Encoded image bytes → the model's input: decodeImage, then the model's one preprocessing function.
import { decodeImage, type ImageInputOptions, type ModelInput } from "./image.js";
import { type PreparedInput, preprocessingFor, toModelInput } from "./preprocess.js";

/**
 * Decodes `bytes` and prepares them as `options.preprocessing` says; without it, as a model of
 * input `shape` whose manifest predates preprocessing descriptions (preprocessingFor's rule).
 */
export async function prepareImage(
  bytes: Uint8Array,
  shape: readonly [number, number, number],
  options: ImageInputOptions = {},
): Promise<ModelInput & PreparedInput> {
  const preprocessing = options.preprocessing ?? preprocessingFor(shape);
  const image = await decodeImage(bytes, options);
  return toModelInput(image, preprocessing, options);
}
