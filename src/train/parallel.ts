// Data parallelism over worker_threads (Node's wasm backend uses one thread): each worker
// computes the gradients of its shard of the batch from weights in shared memory, and the main
// thread averages them weighted by shard size, so the step equals the one-thread step up to
// float rounding. Batch norm: each worker normalises with its own shard's batch statistics
// (like PyTorch's DataParallel without SyncBatchNorm), so models with batch norm train
// slightly differently from one worker; the moving statistics are updated from the shard
// statistics combined exactly (weighted means, law of total variance).
import type { Worker } from "node:worker_threads";
import type { Weights } from "../nn/weights.js";
import { spawnModuleWorker } from "../util/spawn-worker.js";
import type { GradientEngine } from "./engine.js";
import type { HeadSource } from "./losses.js";
import {
  type Batch,
  type BatchStats,
  computeGradients,
  type StepModel,
  type StepResult,
} from "./step.js";

/** The in-thread engine (workers = 1). */
export class LocalGradients implements GradientEngine {
  readonly workers = 1;
  constructor(private readonly model: StepModel) {}
  async compute(weights: Weights, batch: Batch): Promise<StepResult> {
    return computeGradients(this.model, weights, batch);
  }
  async close(): Promise<void> {}
}

interface LayoutEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface WorkerInit {
  spec: StepModel["spec"];
  classes: number;
  trainable: string[];
  headSource?: HeadSource;
  layout: LayoutEntry[];
  shared: SharedArrayBuffer;
}

export interface WorkerRequest {
  id: number;
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

export type WorkerReply =
  | { ready: true }
  | {
      id: number;
      loss: number;
      correct: number;
      count: number;
      grads: Float32Array;
      batchStats: Record<string, BatchStats>;
    }
  | { id?: number; error: string };

/** Splits n items into at most `parts` contiguous, near-equal, non-empty shards. */
export function shardSizes(n: number, parts: number): number[] {
  const k = Math.max(1, Math.min(parts, n));
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
}

/** Weighted average of shard results; exact combination of batch-norm statistics. */
export function combineResults(results: StepResult[]): StepResult {
  if (results.length === 1) return results[0];
  const count = results.reduce((n, r) => n + r.count, 0);
  const grads: Record<string, Float32Array> = {};
  for (const name of Object.keys(results[0].grads)) {
    const out = new Float32Array(results[0].grads[name].length);
    for (const r of results) {
      const g = r.grads[name];
      const w = r.count / count;
      for (let i = 0; i < out.length; i++) out[i] += w * g[i];
    }
    grads[name] = out;
  }
  const batchStats: Record<string, BatchStats> = {};
  for (const path of Object.keys(results[0].batchStats)) {
    const size = results[0].batchStats[path].mean.length;
    const mean = new Float32Array(size);
    const variance = new Float32Array(size);
    for (const r of results) {
      const w = r.count / count;
      const s = r.batchStats[path];
      for (let i = 0; i < size; i++) mean[i] += w * s.mean[i];
    }
    for (const r of results) {
      const w = r.count / count;
      const s = r.batchStats[path];
      for (let i = 0; i < size; i++)
        variance[i] += w * (s.variance[i] + (s.mean[i] - mean[i]) ** 2);
    }
    batchStats[path] = { mean, variance };
  }
  return {
    loss: results.reduce((s, r) => s + r.loss * r.count, 0) / count,
    correct: results.reduce((s, r) => s + r.correct, 0),
    count,
    grads,
    batchStats,
  };
}

const WORKER_MODULE = new URL("./worker.ts", import.meta.url);

/** N worker threads, started once; call close() when training ends. */
export class ParallelGradients implements GradientEngine {
  private readonly pool: Worker[] = [];
  private readonly layout: LayoutEntry[];
  private readonly flat: Float32Array;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: StepResult) => void; reject: (e: Error) => void }
  >();
  private failure: Error | undefined;

  private constructor(
    private readonly model: StepModel,
    weights: Weights,
    readonly workers: number,
  ) {
    let offset = 0;
    this.layout = Object.entries(weights).map(([name, w]) => {
      const entry = { name, shape: w.shape, offset, size: w.data.length };
      offset += w.data.length;
      return entry;
    });
    this.flat = new Float32Array(new SharedArrayBuffer(offset * 4));
  }

  /** Starts the workers and waits until each has its backend ready. */
  static async start(
    model: StepModel,
    weights: Weights,
    workers: number,
  ): Promise<ParallelGradients> {
    if (model.head && !model.head.source) {
      throw new Error("a training head needs `source` (module + factory) to run on worker threads");
    }
    const engine = new ParallelGradients(model, weights, workers);
    try {
      await Promise.all(Array.from({ length: workers }, () => engine.spawn()));
    } catch (error) {
      await engine.close();
      throw error;
    }
    return engine;
  }

  private spawn(): Promise<void> {
    const init: WorkerInit = {
      spec: this.model.spec,
      classes: this.model.classes,
      trainable: this.model.trainable,
      headSource: this.model.head?.source,
      layout: this.layout,
      shared: this.flat.buffer as SharedArrayBuffer,
    };
    const worker = spawnModuleWorker(WORKER_MODULE, { workerData: init, execArgv: [] });
    this.pool.push(worker);
    return new Promise((resolve, reject) => {
      worker.once("message", (reply: WorkerReply) => {
        if ("ready" in reply) resolve();
        else
          reject(
            new Error(`training worker failed to start: ${"error" in reply ? reply.error : "?"}`),
          );
        worker.on("message", (r: WorkerReply) => this.onReply(r));
      });
      worker.once("error", (error) => {
        this.fail(error);
        reject(error);
      });
      worker.once("exit", (code) => {
        if (code !== 0) this.fail(new Error(`training worker exited with code ${code}`));
      });
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private onReply(reply: WorkerReply): void {
    if ("ready" in reply || reply.id === undefined) return;
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if ("error" in reply) {
      p.reject(new Error(`training worker: ${reply.error}`));
      return;
    }
    const grads: Record<string, Float32Array> = {};
    let offset = 0;
    for (const name of this.model.trainable) {
      const size = this.layout.find((e) => e.name === name)?.size ?? 0;
      grads[name] = reply.grads.subarray(offset, offset + size);
      offset += size;
    }
    p.resolve({
      loss: reply.loss,
      correct: reply.correct,
      count: reply.count,
      grads,
      batchStats: reply.batchStats,
    });
  }

  async compute(weights: Weights, batch: Batch): Promise<StepResult> {
    if (this.failure) throw this.failure;
    for (const e of this.layout) this.flat.set(weights[e.name].data, e.offset);
    const pixels = batch.images.length / batch.count;
    const sizes = shardSizes(batch.count, this.pool.length);
    let start = 0;
    const jobs = sizes.map((n, i) => {
      const images = batch.images.slice(start * pixels, (start + n) * pixels);
      const labels = batch.labels.slice(start, start + n);
      start += n;
      const id = this.nextId++;
      const request: WorkerRequest = { id, images, labels, count: n };
      return new Promise<StepResult>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.pool[i].postMessage(request, [images.buffer, labels.buffer]);
      });
    });
    return combineResults(await Promise.all(jobs));
  }

  async close(): Promise<void> {
    const pool = this.pool.splice(0);
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
