// One worker of the inference pool: its own onnxruntime session (one intra-op thread) that
// runs the batches the main thread sends, so inference never blocks the main event loop.
import { parentPort, workerData } from "node:worker_threads";
import { type LoadOptions, loadOnnxModel } from "./runtime.js";

export type WorkerRequest = { id: number; input: Float32Array; n: number } | { close: true };
export type WorkerReply =
  | { ready: true; metadata: unknown; inputShape: number[]; outputDim: number }
  | { failed: string }
  | { id: number; output: Float32Array }
  | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("pool-worker.ts must run in a worker thread");
const { path, options } = workerData as { path: string; options: LoadOptions };

try {
  const model = await loadOnnxModel(path, options);
  port.on("message", async (message: WorkerRequest) => {
    if ("close" in message) {
      await model.close();
      port.close();
      return;
    }
    try {
      const output = await model.run(message.input, message.n);
      port.postMessage({ id: message.id, output } satisfies WorkerReply, [
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
