// An embedder on onnxruntime as an EmbedSource: an exported ONNX file (models/*.onnx), so the
// shipped embedder scores references by angle where its checkpoint is not at hand, or a trainer
// checkpoint exported in memory, so scoring a checkpoint runs at native speed too.
import { loadOnnxModel, type OnnxModel, openOnnxModel } from "../inference/runtime.js";
import { exportOnnx } from "../onnx/export.js";
import type { Embedder } from "./embedder.js";
import type { EmbedSource } from "./evaluate-embedder.js";

export interface OnnxEmbedOptions {
  /** Images per session.run (default 256). */
  batch?: number;
  /** Intra-op threads (default 2). */
  threads?: number;
}

export type ClosableEmbedSource = EmbedSource & { close(): Promise<void> };

const SESSION = (threads: number | undefined) => ({
  intraOpNumThreads: threads ?? 2,
  interOpNumThreads: 1,
  output: "embedding",
});

/** Embeds in batches of `batch` images on `threads` intra-op threads; close() releases it. */
export async function onnxEmbedSource(
  path: string,
  options: OnnxEmbedOptions = {},
): Promise<ClosableEmbedSource> {
  return sourceOf(await loadOnnxModel(path, SESSION(options.threads)), options);
}

/** A checkpoint's embedder exported in memory (nothing written) and run the same way. */
export async function checkpointEmbedSource(
  embedder: Embedder,
  label: string,
  options: OnnxEmbedOptions = {},
): Promise<ClosableEmbedSource> {
  const bytes = exportOnnx(embedder.spec, embedder.weights, { role: "embedder" });
  return sourceOf(await openOnnxModel(bytes, label, SESSION(options.threads)), options);
}

function sourceOf(model: OnnxModel, options: OnnxEmbedOptions): ClosableEmbedSource {
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
