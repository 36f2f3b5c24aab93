// A pool of worker threads, each with its own session: the main thread only queues requests
// and hands each idle worker everything queued (up to maxBatch images) as one batch. Requests
// may carry encoded images, which the worker decodes and frames itself (runImages), so that
// neither inference nor image work runs on the event loop.
import type { Worker } from "node:worker_threads";
import {
  ImageError,
  type ImageErrorCode,
  type ImageInputOptions,
  type ModelInput,
} from "../data/image.js";
import type { OnnxModelMetadata } from "../onnx/metadata.js";
import { spawnModuleWorker } from "../util/spawn-worker.js";
import type { InferenceEngine } from "./engine.js";
import type { BatchPart, PartResult, WorkerReply, WorkerRequest } from "./pool-worker.js";
import { type LoadOptions, validateBatch } from "./runtime.js";

export interface PoolOptions extends LoadOptions {
  /** Worker threads (default 2, one per core). */
  workers?: number;
  /** Most images per session.run (default 64). */
  maxBatch?: number;
  /** Nice value added to each worker thread, below the main thread (default 5; 0 keeps it). */
  niceness?: number;
}

/** The model's output for each image and how each was preprocessed. */
export interface ImageRunResult {
  output: Float32Array;
  inputs: Omit<ModelInput, "pixels">[];
}

/** An engine that also accepts encoded images and preprocesses them off the main thread. */
export interface ImageInferenceEngine extends InferenceEngine {
  runImages(images: readonly Uint8Array[], options: ImageInputOptions): Promise<ImageRunResult>;
}

export function acceptsImages(engine: InferenceEngine): engine is ImageInferenceEngine {
  return typeof (engine as Partial<ImageInferenceEngine>).runImages === "function";
}

interface Job {
  part: BatchPart;
  n: number;
  settle(result: PartResult, output: Float32Array): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Job[] | undefined;
  id: number;
  dead: boolean;
}

export class WorkerPool implements ImageInferenceEngine {
  private readonly queue: Job[] = [];
  private closed = false;
  private nextId = 1;

  private constructor(
    private readonly path: string,
    private readonly slots: Slot[],
    private readonly maxBatch: number,
    readonly metadata: OnnxModelMetadata,
    readonly inputShape: [number, number, number],
    readonly outputDim: number,
  ) {
    for (const slot of slots) {
      slot.worker.on("message", (reply: WorkerReply) => this.onReply(slot, reply));
      slot.worker.on("error", (error) => this.onCrash(slot, error));
      slot.worker.on("exit", (code) => this.onCrash(slot, new Error(`exited with code ${code}`)));
    }
  }

  static async create(path: string, options: PoolOptions = {}): Promise<WorkerPool> {
    const { workers = 2, maxBatch = 64, niceness = 5, ...load } = options;
    const loadOptions: LoadOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, ...load };
    const started = Array.from({ length: workers }, () =>
      spawnModuleWorker(new URL("./pool-worker.ts", import.meta.url), {
        workerData: { path, options: loadOptions, niceness },
      }),
    );
    try {
      const ready = await Promise.all(started.map((w) => firstReply(w, path)));
      const { metadata, inputShape, outputDim } = ready[0];
      const slots = started.map((worker) => ({ worker, busy: undefined, id: 0, dead: false }));
      return new WorkerPool(
        path,
        slots,
        maxBatch,
        metadata as OnnxModelMetadata,
        inputShape as [number, number, number],
        outputDim,
      );
    } catch (error) {
      await Promise.all(started.map((w) => w.terminate()));
      throw error;
    }
  }

  run(input: Float32Array, n: number): Promise<Float32Array> {
    return this.enqueue((resolve, reject) => {
      validateBatch(input, n, this.inputShape, this.path);
      return {
        part: { input: input.slice() },
        n,
        settle: (_result, output) => resolve(output),
        reject,
      };
    });
  }

  /** Decodes, frames and embeds `images` in a worker; rejects with the first image's ImageError. */
  runImages(images: readonly Uint8Array[], options: ImageInputOptions): Promise<ImageRunResult> {
    return this.enqueue((resolve, reject) => ({
      part: { images: images.map((b) => new Uint8Array(b)), options },
      n: images.length,
      settle: (result, output) => {
        if ("error" in result) reject(reviveError(result.error));
        else resolve({ output, inputs: result.inputs ?? [] });
      },
      reject,
    }));
  }

  private enqueue<T>(
    job: (resolve: (value: T) => void, reject: (error: Error) => void) => Job,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.path}: engine is closed`));
    if (this.slots.every((s) => s.dead)) {
      return Promise.reject(new Error(`${this.path}: every inference worker has failed`));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push(job(resolve, reject));
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy || slot.dead) continue;
      const batch = this.takeBatch();
      slot.busy = batch;
      slot.id = this.nextId++;
      const parts = batch.map((job) => job.part);
      const transfer = parts.flatMap((p) =>
        "input" in p ? [p.input.buffer] : p.images.map((b) => b.buffer),
      ) as ArrayBuffer[];
      slot.worker.postMessage({ id: slot.id, parts } satisfies WorkerRequest, transfer);
    }
  }

  /** Jobs from the queue head while their images fit in maxBatch (at least one). */
  private takeBatch(): Job[] {
    const taken: Job[] = [];
    let rows = 0;
    while (
      this.queue.length > 0 &&
      (taken.length === 0 || rows + this.queue[0].n <= this.maxBatch)
    ) {
      const next = this.queue.shift()!;
      taken.push(next);
      rows += next.n;
    }
    return taken;
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if (!("id" in reply) || reply.id !== slot.id || !slot.busy) return;
    const batch = slot.busy;
    slot.busy = undefined;
    if ("parts" in reply) {
      let at = 0;
      for (const [i, job] of batch.entries()) {
        const result = reply.parts[i];
        const size = "error" in result ? 0 : job.n * this.outputDim;
        job.settle(result, reply.output.slice(at, at + size));
        at += size;
      }
    } else {
      for (const job of batch) job.reject(new Error(reply.error));
    }
    this.dispatch();
  }

  private onCrash(slot: Slot, error: Error): void {
    const batch = slot.busy ?? [];
    slot.busy = undefined;
    slot.dead = true;
    for (const job of batch)
      job.reject(new Error(`${this.path}: inference worker failed: ${error.message}`));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error(`${this.path}: engine closed`));
    await Promise.all(
      this.slots.map(async ({ worker, dead }) => {
        if (dead) return;
        worker.postMessage({ close: true } satisfies WorkerRequest);
        await Promise.race([
          new Promise((resolve) => worker.once("exit", resolve)),
          new Promise((resolve) => setTimeout(resolve, 1000).unref()),
        ]);
        await worker.terminate();
      }),
    );
  }
}

/** An error thrown while preprocessing in a worker, as the main thread would have thrown it. */
function reviveError(error: { message: string; code?: string }): Error {
  return error.code
    ? new ImageError(error.code as ImageErrorCode, error.message)
    : new Error(error.message);
}

function firstReply(
  worker: Worker,
  path: string,
): Promise<{ metadata: unknown; inputShape: number[]; outputDim: number }> {
  return new Promise((resolve, reject) => {
    worker.once("message", (reply: WorkerReply) => {
      if ("ready" in reply) resolve(reply);
      else if ("failed" in reply) reject(new Error(reply.failed));
      else reject(new Error(`${path}: unexpected first message from the inference worker`));
    });
    worker.once("error", (error) =>
      reject(new Error(`${path}: inference worker: ${error.message}`)),
    );
  });
}
