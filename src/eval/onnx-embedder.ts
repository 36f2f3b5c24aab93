// An exported ONNX embedder (models/*.onnx) as an EmbedSource, so the shipped embedder scores
// references by angle even where its training checkpoint is not at hand.
import { loadOnnxModel } from "../inference/runtime.js";
import type { EmbedSource } from "./evaluate-embedder.js";

/** Embeds in batches of `batch` images on `threads` intra-op threads; close() releases it. */
export async function onnxEmbedSource(
  path: string,
  options: { batch?: number; threads?: number } = {},
): Promise<EmbedSource & { close(): Promise<void> }> {
  const model = await loadOnnxModel(path, {
    intraOpNumThreads: options.threads ?? 2,
    interOpNumThreads: 1,
    output: "embedding",
  });
  const batch = options.batch ?? 256;
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  return {
    name: model.metadata.name,
    input: model.inputShape,
    dim: model.outputDim,
    async embed(images, count) {
      const out = new Float32Array(count * model.outputDim);
      for (let start = 0; start < count; start += batch) {
        const n = Math.min(batch, count - start);
        const part = await model.run(images.subarray(start * size, (start + n) * size), n);
        out.set(part, start * model.outputDim);
      }
      return out;
    },
    close: () => model.close(),
  };
}
