// Decodes infer bodies: small ones inline (a worker round trip costs more), large ones in one shared worker
// thread so that parsing up to the body limit never holds the event loop (health probes, other requests).
import type { Worker } from "node:worker_threads";
import { spawnModuleWorker } from "../../util/spawn-worker.js";
import { HttpError } from "../errors.js";
import { type DecodedRequest, decodeInferJson } from "./decode.js";

/** Bodies from this size on are decoded in the worker (inline, 64 KiB of JSON parse in well under 1 ms). */
export const OFF_LOOP_BYTES = 64 * 1024;

interface Reply {
  id: number;
  decoded?: DecodedRequest;
  error?: { status: number; code: string; message: string };
}

type Pending = { resolve: (d: DecodedRequest) => void; reject: (e: Error) => void };

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

function failAll(crashed: Worker, error: Error): void {
  if (worker !== crashed) return;
  worker = undefined;
  for (const p of pending.values()) p.reject(error);
  pending.clear();
}

function decoder(): Worker {
  if (worker) return worker;
  const w = spawnModuleWorker(new URL("./decode-worker.ts", import.meta.url));
  w.unref();
  w.on("message", ({ id, decoded, error }: Reply) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (decoded) p.resolve(decoded);
    else
      p.reject(
        new HttpError(error?.status ?? 500, error?.code ?? "internal", error?.message ?? ""),
      );
    if (pending.size === 0) w.unref();
  });
  // A crashed decoder fails its requests (500) and is replaced on the next large body.
  w.on("error", (error) => failAll(w, error));
  w.on("exit", () => failAll(w, new Error("the infer body decoder exited")));
  worker = w;
  return w;
}

export function decodeInferBody(bytes: Buffer, maxValues: number): Promise<DecodedRequest> {
  if (bytes.length < OFF_LOOP_BYTES) {
    try {
      return Promise.resolve(decodeInferJson(bytes, maxValues));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const w = decoder();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    // A copy the worker owns (the request buffer may be a slice of a larger one).
    const copy = Uint8Array.from(bytes);
    w.postMessage({ id, bytes: copy, maxValues }, [copy.buffer]);
  });
}
