// The inference interface the service uses, whatever runs behind it (worker pool, micro-batcher
// on the main thread, or a plain session), and the helpers to split and join batches.
import type { OnnxModelMetadata } from "../onnx/metadata.js";

export interface InferenceEngine {
  /** n NHWC images in [0, 1] → n × outputDim values; never blocks the event loop for long. */
  run(input: Float32Array, n: number): Promise<Float32Array>;
  close(): Promise<void>;
  metadata: OnnxModelMetadata;
  /** [H, W, C] of one image. */
  inputShape: [number, number, number];
  outputDim: number;
}

export interface PendingRequest {
  input: Float32Array;
  n: number;
  resolve: (output: Float32Array) => void;
  reject: (error: Error) => void;
}

/** Takes requests from the queue head while their rows fit in maxBatch (at least one). */
export function takeBatch(queue: PendingRequest[], maxBatch: number): PendingRequest[] {
  const taken: PendingRequest[] = [];
  let rows = 0;
  while (queue.length > 0 && (taken.length === 0 || rows + queue[0].n <= maxBatch)) {
    const next = queue.shift()!;
    taken.push(next);
    rows += next.n;
  }
  return taken;
}

export function joinInputs(requests: PendingRequest[]): { input: Float32Array; n: number } {
  if (requests.length === 1) return { input: requests[0].input, n: requests[0].n };
  const input = new Float32Array(requests.reduce((s, r) => s + r.input.length, 0));
  let at = 0;
  for (const r of requests) {
    input.set(r.input, at);
    at += r.input.length;
  }
  return { input, n: requests.reduce((s, r) => s + r.n, 0) };
}

export function settleBatch(requests: PendingRequest[], output: Float32Array, outputDim: number) {
  let at = 0;
  for (const r of requests) {
    r.resolve(output.slice(at, at + r.n * outputDim));
    at += r.n * outputDim;
  }
}
