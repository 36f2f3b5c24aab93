// One worker of the inference pool: its own onnxruntime session (one intra-op thread) that
// runs the batches the main thread sends, decoding and framing encoded images first, so that
// neither inference nor image work blocks the main event loop.
import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { ImageError, type ImageInputOptions, type ModelInput } from "../data/image.js";
import { prepareImage } from "../data/prepare-image.js";
import { type LoadOptions, loadOnnxModel } from "./runtime.js";

/** One request of a batch: NHWC pixels, or encoded images to preprocess here. */
export type BatchPart =
  | { input: Float32Array }
  | { images: Uint8Array[]; options: ImageInputOptions };

/** Per part: how its images were preprocessed, or the error that rejected it (no rows then). */
export type PartResult =
  | { inputs?: Omit<ModelInput, "pixels">[] }
  | { error: { message: string; code?: string } };

export type WorkerRequest = { id: number; parts: BatchPart[] } | { close: true };
export type WorkerReply =
  | { ready: true; metadata: unknown; inputShape: number[]; outputDim: number }
  | { failed: string }
  | { id: number; output: Float32Array; parts: PartResult[] }
  | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("pool-worker.ts must run in a worker thread");
const { path, options, niceness } = workerData as {
  path: string;
  options: LoadOptions;
  niceness: number;
};

/** Lowers this thread's CPU priority by `nice` (Linux: /proc/thread-self names the thread), so
 * that the main thread, which answers every HTTP request, runs first when both want a core. */
function lowerPriority(nice: number): void {
  if (nice <= 0 || process.platform !== "linux") return;
  try {
    const thread = Number(readlinkSync("/proc/thread-self").split("/").pop());
    setPriority(thread, Math.min(19, getPriority(thread) + nice));
  } catch {
    // Not permitted or not available: the thread keeps the process's priority.
  }
}

lowerPriority(niceness);

function describe(error: unknown): { message: string; code?: string } {
  if (error instanceof ImageError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error) };
}

try {
  const model = await loadOnnxModel(path, options);
  const pixelsPerImage = model.inputShape.reduce((a, b) => a * b, 1);

  /** Pixels of every part that could be prepared, and each part's result. */
  async function prepare(parts: BatchPart[]) {
    const results: PartResult[] = [];
    const chunks: Float32Array[] = [];
    const decoded = await Promise.all(
      parts.map((part) =>
        "input" in part
          ? undefined
          : Promise.allSettled(
              part.images.map((bytes) => prepareImage(bytes, model.inputShape, part.options)),
            ),
      ),
    );
    for (const [i, part] of parts.entries()) {
      if ("input" in part) {
        chunks.push(part.input);
        results.push({});
        continue;
      }
      const settled = decoded[i] ?? [];
      const failed = settled.find((s) => s.status === "rejected");
      if (failed) {
        results.push({ error: describe(failed.reason) });
        continue;
      }
      const inputs = settled.map((s) => (s as PromiseFulfilledResult<ModelInput>).value);
      for (const input of inputs) chunks.push(input.pixels);
      results.push({ inputs: inputs.map(({ inverted, framed }) => ({ inverted, framed })) });
    }
    const n = chunks.reduce((s, c) => s + c.length, 0) / pixelsPerImage;
    const batch = chunks.length === 1 ? chunks[0] : new Float32Array(n * pixelsPerImage);
    if (chunks.length > 1) {
      let at = 0;
      for (const chunk of chunks) {
        batch.set(chunk, at);
        at += chunk.length;
      }
    }
    return { batch, n, results };
  }

  port.on("message", async (message: WorkerRequest) => {
    if ("close" in message) {
      await model.close();
      port.close();
      return;
    }
    try {
      const { batch, n, results } = await prepare(message.parts);
      const output = n > 0 ? await model.run(batch, n) : new Float32Array(0);
      port.postMessage({ id: message.id, output, parts: results } satisfies WorkerReply, [
        output.buffer as ArrayBuffer,
      ]);
    } catch (error) {
      port.postMessage({ id: message.id, error: (error as Error).message } satisfies WorkerReply);
    }
  });
  port.postMessage({
    ready: true,
    metadata: model.metadata,
    inputShape: model.inputShape,
    outputDim: model.outputDim,
  } satisfies WorkerReply);
} catch (error) {
  port.postMessage({ failed: (error as Error).message } satisfies WorkerReply);
}
