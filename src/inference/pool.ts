// A pool of worker threads, each with its own session: the main thread only queues requests
// and hands each idle worker everything queued (up to maxBatch images) as one batch. Requests
// may carry encoded images, which the worker decodes and frames itself (runImages), so that
// neither inference nor image work runs on the event loop. The queue is bounded (overload is a
// 503, not memory), and a dead worker is replaced (pool-slot.ts).
import { basename } from "node:path";
import type { Worker } from "node:worker_threads";
import {
  ImageError,
  type ImageErrorCode,
  type ImageInputOptions,
  type ModelInput,
} from "../data/image.js";
import type { OnnxModelMetadata } from "../onnx/metadata.js";
import {
  checkQueueBound,
  DEFAULT_MAX_QUEUE,
  EngineUnavailableError,
  type InferenceEngine,
} from "./engine.js";
import {
  firstReply,
  type RestartDelays,
  type SlotHooks,
  startPoolWorker,
  WorkerSlot,
} from "./pool-slot.js";
import type { BatchPart, PartResult, WorkerReply, WorkerRequest } from "./pool-worker.js";
import { type LoadOptions, validateBatch } from "./runtime.js";

export interface PoolOptions extends LoadOptions {
  /** Worker threads (default 2, one per core). */
  workers?: number;
  /** Most images per session.run (default 64). */
  maxBatch?: number;
  /** Nice value added to each worker thread, below the main thread (default 5; 0 keeps it). */
  niceness?: number;
  /** Most images waiting for a worker; a request beyond it is refused (default DEFAULT_MAX_QUEUE). */
  maxQueue?: number;
  /** Delay before replacing a dead worker (default 100 ms doubling up to 10 s). */
  restartDelayMs?: RestartDelays;
  /** Told when a worker dies, comes back, or fails to start again. */
  onWorkerEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { kind: "died"; error: string; restartInMs: number }
  | { kind: "restarted" }
  | { kind: "restart_failed"; error: string; restartInMs: number };

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

type Slot = WorkerSlot<Job[]>;

interface PoolSettings {
  maxBatch: number;
  maxQueue: number;
  onWorkerEvent: (event: WorkerEvent) => void;
}

export class WorkerPool implements ImageInferenceEngine {
  private readonly queue: Job[] = [];
  private queued = 0;
  private closed = false;
  private nextId = 1;
  private readonly name: string;
  private readonly slots: Slot[];

  private constructor(
    private readonly path: string,
    workers: Worker[],
    workerData: unknown,
    restartDelays: RestartDelays,
    private readonly settings: PoolSettings,
    readonly metadata: OnnxModelMetadata,
    readonly inputShape: [number, number, number],
    readonly outputDim: number,
  ) {
    this.name = basename(path);
    const hooks: SlotHooks<Job[]> = {
      reply: (slot, reply) => this.onReply(slot, reply),
      died: (_slot, batch, error, restartInMs) => this.onDeath(batch ?? [], error, restartInMs),
      restarted: () => {
        settings.onWorkerEvent({ kind: "restarted" });
        this.dispatch();
      },
      restartFailed: (_slot, error, restartInMs) =>
        settings.onWorkerEvent({ kind: "restart_failed", error: error.message, restartInMs }),
    };
    this.slots = workers.map((w) => new WorkerSlot(w, workerData, path, restartDelays, hooks));
  }

  static async create(path: string, options: PoolOptions = {}): Promise<WorkerPool> {
    const {
      workers = 2,
      maxBatch = 64,
      niceness = 5,
      maxQueue = DEFAULT_MAX_QUEUE,
      restartDelayMs = { initial: 100, max: 10_000 },
      onWorkerEvent = () => {},
      ...load
    } = options;
    const loadOptions: LoadOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, ...load };
    const workerData = { path, options: loadOptions, niceness };
    const started = Array.from({ length: workers }, () => startPoolWorker(workerData));
    try {
      const ready = await Promise.all(started.map((w) => firstReply(w, path)));
      const { metadata, inputShape, outputDim } = ready[0];
      return new WorkerPool(
        path,
        started,
        workerData,
        restartDelayMs,
        { maxBatch, maxQueue, onWorkerEvent },
        metadata as OnnxModelMetadata,
        inputShape as [number, number, number],
        outputDim,
      );
    } catch (error) {
      await Promise.all(started.map((w) => w.terminate()));
      throw error;
    }
  }

  get queuedImages(): number {
    return this.queued;
  }

  /** True while at least one worker is up. */
  get alive(): boolean {
    return this.slots.some((s) => s.worker);
  }

  /** The live worker threads (terminating one is a death the pool recovers from). */
  get workers(): Worker[] {
    return this.slots.flatMap((s) => (s.worker ? [s.worker] : []));
  }

  run(input: Float32Array, n: number): Promise<Float32Array> {
    return this.enqueue(n, (resolve, reject) => {
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
    return this.enqueue(images.length, (resolve, reject) => ({
      part: { images: images.map((b) => new Uint8Array(b)), options },
      n: images.length,
      settle: (result, output) => {
        if ("error" in result) reject(reviveError(result.error));
        else resolve({ output, inputs: result.inputs ?? [] });
      },
      reject,
    }));
  }

  /** Queues the job of `n` images, refused before its inputs are copied when the queue is full. */
  private enqueue<T>(
    n: number,
    job: (resolve: (value: T) => void, reject: (error: Error) => void) => Job,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.path}: engine is closed`));
    if (!this.alive) return Promise.reject(this.noWorker());
    return new Promise<T>((resolve, reject) => {
      checkQueueBound(this.queued, n, this.settings.maxQueue, `model ${this.name}`);
      const next = job(resolve, reject);
      this.queue.push(next);
      this.queued += next.n;
      this.dispatch();
    });
  }

  private noWorker(): EngineUnavailableError {
    const soonest = Math.min(...this.slots.map((s) => s.backoffMs));
    return new EngineUnavailableError(
      "no_worker",
      `model ${this.name}: no inference worker is running; one is being restarted`,
      Math.max(1, Math.ceil(soonest / 1000)),
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy || !slot.worker) continue;
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

  /**
   * Jobs from the queue head while their images fit in this worker's share of the queue (at least
   * one job): the queued images split evenly between the live workers, at most maxBatch. Taking all
   * that is queued left the other worker(s) the requests arriving one at a time, run as batches of
   * one at the worst cost per image, while one batch of ~60 held its requests for the whole run.
   */
  private takeBatch(): Job[] {
    const live = this.slots.filter((s) => s.worker).length;
    const share = Math.min(this.settings.maxBatch, Math.ceil(this.queued / Math.max(live, 1)));
    const taken: Job[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (taken.length === 0 || rows + this.queue[0].n <= share)) {
      const next = this.queue.shift()!;
      taken.push(next);
      rows += next.n;
      this.queued -= next.n;
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

  /** A worker died: its batch gets a 503 (retry), and so does the queue if no worker is left. */
  private onDeath(batch: Job[], error: Error, restartInMs: number): void {
    const died = new EngineUnavailableError(
      "worker_failed",
      `model ${this.name}: the inference worker running this request died; retry`,
    );
    for (const job of batch) job.reject(died);
    this.settings.onWorkerEvent({ kind: "died", error: error.message, restartInMs });
    if (this.alive) return;
    const waiting = this.queue.splice(0);
    this.queued = 0;
    for (const job of waiting) job.reject(this.noWorker());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queued = 0;
    for (const job of this.queue.splice(0)) job.reject(new Error(`${this.path}: engine closed`));
    await Promise.all(this.slots.map((slot) => slot.close()));
  }
}

/** An error thrown while preprocessing in a worker, as the main thread would have thrown it. */
function reviveError(error: { message: string; code?: string }): Error {
  return error.code
    ? new ImageError(error.code as ImageErrorCode, error.message)
    : new Error(error.message);
}
