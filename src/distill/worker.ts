// Worker-thread entry: distils the subsets the pool sends it, one at a time, on its own wasm
// engine or onnxruntime session.
import { parentPort } from "node:worker_threads";
import { type BackendName, initBackend } from "../nn/backend.js";
import { distillOn, type WorkerReply, type WorkerRequest } from "./pool.js";

if (!parentPort) throw new Error("src/distill/worker.ts must run in a worker thread");
const port = parentPort;

let backend: Promise<unknown> | undefined;

port.on("message", async (request: WorkerRequest) => {
  if (request.setting.engine === "tfjs") {
    backend ??= initBackend(request.backend as BackendName, { quiet: true });
  }
  let reply: WorkerReply;
  try {
    await backend;
    const result = await distillOn(request.setting, request.problem, request.config);
    reply = { id: request.id, ok: true, result };
    port.postMessage(reply, [result.images.buffer as ArrayBuffer]);
  } catch (error) {
    reply = { id: request.id, ok: false, message: (error as Error).stack ?? String(error) };
    port.postMessage(reply);
  }
});
