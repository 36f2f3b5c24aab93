// A pool of worker threads, each with its own session: the main thread only queues requests
// and hands each idle worker everything queued (up to maxBatch images) as one batch.
import type { Worker } from "node:worker_threads";
import {
  type InferenceEngine,
  joinInputs,
  type PendingRequest,
  settleBatch,
  takeBatch,
} from "./engine.js";
import type { OnnxModelMetadata } from "./metadata.js";
import type { WorkerReply, WorkerRequest } from "./pool-worker.js";
import { type LoadOptions, validateBatch } from "./runtime.js";
import { spawnModuleWorker } from "./spawn-worker.js";

export interface PoolOptions extends LoadOptions {
  /** Worker threads (default 2, one per core). */
  workers?: number;
  /** Most images per session.run (default 64). */
  maxBatch?: number;
}

interface Slot {
  worker: Worker;
  busy: PendingRequest[] | undefined;
  id: number;
  dead: boolean;
}

export class WorkerPool implements InferenceEngine {
  private readonly queue: PendingRequest[] = [];
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
    const { workers = 2, maxBatch = 64, ...load } = options;
    const loadOptions: LoadOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, ...load };
    const started = Array.from({ length: workers }, () =>
      spawnModuleWorker(new URL("./pool-worker.ts", import.meta.url), {
        workerData: { path, options: loadOptions },
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
    if (this.closed) return Promise.reject(new Error(`${this.path}: engine is closed`));
    if (this.slots.every((s) => s.dead)) {
      return Promise.reject(new Error(`${this.path}: every inference worker has failed`));
    }
    return new Promise((resolve, reject) => {
      validateBatch(input, n, this.inputShape, this.path);
      this.queue.push({ input, n, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy || slot.dead) continue;
      const batch = takeBatch(this.queue, this.maxBatch);
      const { input, n } = joinInputs(batch);
      slot.busy = batch;
      slot.id = this.nextId++;
      const copy = batch.length === 1 ? input.slice() : input;
      slot.worker.postMessage({ id: slot.id, input: copy, n } satisfies WorkerRequest, [
        copy.buffer as ArrayBuffer,
      ]);
    }
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if (!("id" in reply) || reply.id !== slot.id || !slot.busy) return;
    const batch = slot.busy;
    slot.busy = undefined;
    if ("output" in reply) settleBatch(batch, reply.output, this.outputDim);
    else for (const r of batch) r.reject(new Error(reply.error));
    this.dispatch();
  }

  private onCrash(slot: Slot, error: Error): void {
    const batch = slot.busy ?? [];
    slot.busy = undefined;
    for (const r of batch)
      r.reject(new Error(`${this.path}: inference worker failed: ${error.message}`));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.queue.splice(0)) r.reject(new Error(`${this.path}: engine closed`));
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
