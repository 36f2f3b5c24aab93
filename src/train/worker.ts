// A training worker thread: its own wasm backend, weights read from shared memory, gradients
// of one shard per request sent back as one transferred Float32Array.
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../nn/backend.js";
import type { Weights } from "../nn/weights.js";
import type { TrainHead } from "./losses.js";
import type { WorkerInit, WorkerReply, WorkerRequest } from "./parallel.js";
import { computeGradients, type StepModel } from "./step.js";

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error("worker.ts must run as a worker thread");

async function setup(): Promise<StepModel> {
  await initBackend("wasm", { quiet: true, argv: [], env: {} });
  let head: TrainHead | undefined;
  if (init.headSource) {
    const mod = (await import(init.headSource.module)) as Record<string, (o: unknown) => TrainHead>;
    const factory = mod[init.headSource.factory];
    if (typeof factory !== "function") {
      throw new Error(`${init.headSource.module} has no export ${init.headSource.factory}`);
    }
    head = factory(init.headSource.options);
  }
  return { spec: init.spec, classes: init.classes, trainable: init.trainable, head };
}

const shared = new Float32Array(init.shared);
const weights: Weights = {};
for (const e of init.layout) {
  weights[e.name] = { shape: e.shape, data: shared.subarray(e.offset, e.offset + e.size) };
}

setup().then(
  (model) => {
    port.on("message", (request: WorkerRequest) => {
      try {
        const result = computeGradients(model, weights, request);
        const total = model.trainable.reduce((n, name) => n + result.grads[name].length, 0);
        const grads = new Float32Array(total);
        let offset = 0;
        for (const name of model.trainable) {
          grads.set(result.grads[name], offset);
          offset += result.grads[name].length;
        }
        const reply: WorkerReply = {
          id: request.id,
          loss: result.loss,
          correct: result.correct,
          count: result.count,
          grads,
          batchStats: result.batchStats,
        };
        port.postMessage(reply, [grads.buffer]);
      } catch (error) {
        port.postMessage({ id: request.id, error: (error as Error).message } satisfies WorkerReply);
      }
    });
    port.postMessage({ ready: true } satisfies WorkerReply);
  },
  (error: Error) => port.postMessage({ error: error.message } satisfies WorkerReply),
);
