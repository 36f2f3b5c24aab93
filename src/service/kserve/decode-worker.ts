// Worker thread entry: decodes large infer bodies (JSON.parse and the tensor walk) off the event loop.
import { parentPort } from "node:worker_threads";
import { HttpError } from "../errors.js";
import { decodeInferJson } from "./decode.js";

export interface DecodeJob {
  id: number;
  bytes: Uint8Array;
  maxValues: number;
}

parentPort?.on("message", ({ id, bytes, maxValues }: DecodeJob) => {
  try {
    const decoded = decodeInferJson(bytes, maxValues);
    const transfer = decoded.tensors.flatMap((t) =>
      t && "values" in t ? [t.values.buffer as ArrayBuffer] : [],
    );
    parentPort?.postMessage({ id, decoded }, transfer);
  } catch (error) {
    const e = error instanceof HttpError ? error : new HttpError(500, "internal", String(error));
    parentPort?.postMessage({ id, error: { status: e.status, code: e.code, message: e.message } });
  }
});
