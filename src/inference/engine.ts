// The inference interface the service uses, whatever runs behind it (worker pool, micro-batcher
// on the main thread, or a plain session), and the helpers to split and join batches.
import type { OnnxModelMetadata } from "../onnx/metadata.js";

export interface InferenceEngine {
  /**
   * n NHWC images in [0, 1] → n × outputDim values; never blocks the event loop for long.
   * Rejects with EngineUnavailableError when its queue is full or no worker is alive.
   */
  run(input: Float32Array, n: number): Promise<Float32Array>;
  close(): Promise<void>;
  metadata: OnnxModelMetadata;
  /** [H, W, C] of one image. */
  inputShape: [number, number, number];
  outputDim: number;
  /** Images waiting for a session (not yet running). */
  readonly queuedImages: number;
  /** False while the engine cannot run anything (every worker has died and none is back yet). */
  readonly alive: boolean;
}

/** Why an engine refused or dropped a request; the client may retry after `retryAfterSeconds`. */
export type UnavailableCode = "overloaded" | "worker_failed" | "no_worker";

/** A request the engine cannot serve now (a 503 with Retry-After): nothing is wrong with it. */
export class EngineUnavailableError extends Error {
  override name = "EngineUnavailableError";
  constructor(
    readonly code: UnavailableCode,
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** The default bound on queued images per model: far above 64 connections of full requests. */
export const DEFAULT_MAX_QUEUE = 4096;

/**
 * Refuses a job of `n` images when `queued` images already wait and the job would take the
 * queue past `maxQueue` (a job into an empty queue always passes, however large).
 */
export function checkQueueBound(queued: number, n: number, maxQueue: number, source: string) {
  if (queued > 0 && queued + n > maxQueue) {
    throw new EngineUnavailableError(
      "overloaded",
      `${source}: ${queued} images are queued for inference (at most ${maxQueue}); retry shortly`,
    );
  }
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
