// Runs subset distillations on worker threads (or in-process for workers = 0), one task per
// worker at a time, so the main thread stays free for progress and checkpoints.
import type { Worker } from "node:worker_threads";
import { activeBackend, type BackendName, initBackend } from "../nn/backend.js";
import { spawnModuleWorker } from "../onnx/spawn-worker.js";
import { type DmConfig, distillSubset, type SubsetProblem, type SubsetResult } from "./dm.js";

export interface WorkerRequest {
  id: number;
  backend: string;
  problem: SubsetProblem;
  config: DmConfig;
}

export type WorkerReply =
  | { id: number; ok: true; result: SubsetResult }
  | { id: number; ok: false; message: string };

/** One subset to distil: where it sits in the plan, and its problem built on demand (a queue does not need it). */
export interface SubsetTask {
  level: number;
  subset: number;
  problem(): SubsetProblem;
}

export interface SubsetRunner {
  run(task: SubsetTask): Promise<SubsetResult>;
  close(): Promise<void>;
}

class InProcessRunner implements SubsetRunner {
  constructor(
    private readonly config: DmConfig,
    private readonly backend: BackendName,
  ) {}
  async run(task: SubsetTask): Promise<SubsetResult> {
    if (activeBackend()?.name !== this.backend) await initBackend(this.backend, { quiet: true });
    await new Promise((r) => setImmediate(r));
    return distillSubset(task.problem(), this.config);
  }
  async close(): Promise<void> {}
}

class WorkerRunner implements SubsetRunner {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly all: Worker[] = [];
  private readonly pending = new Map<
    number,
    { ok: (r: SubsetResult) => void; fail: (e: Error) => void }
  >();
  private nextId = 0;
  private broken: Error | undefined;

  constructor(
    count: number,
    private readonly config: DmConfig,
    private readonly backend: BackendName,
  ) {
    for (let i = 0; i < count; i++) {
      const worker = spawnModuleWorker(new URL("./worker.ts", import.meta.url));
      worker.on("message", (reply: WorkerReply) => this.settle(worker, reply));
      worker.on("error", (error) => this.failAll(error));
      worker.on("exit", (code) => {
        if (code !== 0) this.failAll(new Error(`distillation worker exited with code ${code}`));
      });
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  private settle(worker: Worker, reply: WorkerReply) {
    const task = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    this.release(worker);
    if (!task) return;
    if (reply.ok) task.ok(reply.result);
    else task.fail(new Error(`distillation worker failed: ${reply.message}`));
  }

  private failAll(error: Error) {
    this.broken ??= error;
    for (const task of this.pending.values()) task.fail(error);
    this.pending.clear();
  }

  private release(worker: Worker) {
    const next = this.waiting.shift();
    if (next) next(worker);
    else this.idle.push(worker);
  }

  private acquire(): Promise<Worker> {
    const worker = this.idle.pop();
    if (worker) return Promise.resolve(worker);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async run(task: SubsetTask): Promise<SubsetResult> {
    if (this.broken) throw this.broken;
    const worker = await this.acquire();
    if (this.broken) throw this.broken;
    const id = this.nextId++;
    const problem = task.problem();
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      const request: WorkerRequest = { id, backend: this.backend, problem, config: this.config };
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

/** workers = 0 runs in this thread; otherwise that many worker threads. */
export function createRunner(
  workers: number,
  config: DmConfig,
  backend: BackendName,
): SubsetRunner {
  return workers === 0
    ? new InProcessRunner(config, backend)
    : new WorkerRunner(workers, config, backend);
}
