// Runs subset distillations on worker threads (or in-process for workers = 0), one task per
// worker at a time, so the main thread stays free for progress and checkpoints.
import type { Worker } from "node:worker_threads";
// Before any worker thread starts: an ort engine's threads cannot switch telemetry off themselves,
// and a queue worker (scripts/distill-worker.ts) reaches the pool without any other ort import.
import "../util/ort-telemetry.js";
import { activeBackend, type BackendName, initBackend } from "../nn/backend.js";
import { spawnModuleWorker } from "../util/spawn-worker.js";
import { type DmConfig, distillSubset, type SubsetProblem, type SubsetResult } from "./dm.js";
import type { DmEngine } from "./dm-ort.js";

/** Which engine distils a subset and, on ort, with how many intra-op threads per session. */
export interface EngineSetting {
  engine: DmEngine;
  threads: number;
}

const TFJS: EngineSetting = { engine: "tfjs", threads: 1 };

/** One subset on the chosen engine (ort's module loads only when used). */
export async function distillOn(
  setting: EngineSetting,
  problem: SubsetProblem,
  config: DmConfig,
): Promise<SubsetResult> {
  if (setting.engine === "tfjs") return distillSubset(problem, config);
  const { distillSubsetOrt } = await import("./dm-ort.js");
  return distillSubsetOrt(problem, config, { threads: setting.threads });
}

export interface WorkerRequest {
  id: number;
  backend: string;
  problem: SubsetProblem;
  config: DmConfig;
  setting: EngineSetting;
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
    private readonly setting: EngineSetting,
  ) {}
  async run(task: SubsetTask): Promise<SubsetResult> {
    if (this.setting.engine === "tfjs" && activeBackend()?.name !== this.backend) {
      await initBackend(this.backend, { quiet: true });
    }
    await new Promise((r) => setImmediate(r));
    return distillOn(this.setting, task.problem(), this.config);
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
    private readonly setting: EngineSetting,
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
      const request: WorkerRequest = {
        id,
        backend: this.backend,
        problem,
        config: this.config,
        setting: this.setting,
      };
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

/**
 * workers = 0 runs in this thread; otherwise that many worker threads. On ort each thread runs
 * one session with `setting.threads` intra-op threads.
 */
export function createRunner(
  workers: number,
  config: DmConfig,
  backend: BackendName,
  setting: EngineSetting = TFJS,
): SubsetRunner {
  return workers === 0
    ? new InProcessRunner(config, backend, setting)
    : new WorkerRunner(workers, config, backend, setting);
}
