// One worker thread of the inference pool and its replacement: starts it, forwards its replies,
// notices its death (crash, exit or terminate) and starts a new one after a capped exponential
// backoff, so a pool never stays without workers for good.
import type { Worker } from "node:worker_threads";
import { spawnModuleWorker } from "../util/spawn-worker.js";
import type { WorkerReply } from "./pool-worker.js";

export interface RestartDelays {
  /** Delay before the first restart (ms); doubles per failed start. */
  initial: number;
  /** The most it grows to (ms). */
  max: number;
}

export interface SlotHooks<Batch> {
  reply(slot: WorkerSlot<Batch>, reply: WorkerReply): void;
  /** The worker died; `batch` was running on it. The slot restarts in `restartInMs`. */
  died(slot: WorkerSlot<Batch>, batch: Batch | undefined, error: Error, restartInMs: number): void;
  restarted(slot: WorkerSlot<Batch>): void;
  restartFailed(slot: WorkerSlot<Batch>, error: Error, restartInMs: number): void;
}

export function startPoolWorker(workerData: unknown): Worker {
  return spawnModuleWorker(new URL("./pool-worker.ts", import.meta.url), { workerData });
}

/** The worker's first message: its model's description, or why it could not load it. */
export function firstReply(
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
    worker.once("exit", (code) =>
      reject(new Error(`${path}: inference worker exited with code ${code} while starting`)),
    );
  });
}

export class WorkerSlot<Batch> {
  /** Undefined while dead or restarting. */
  worker: Worker | undefined;
  /** The batch the worker is running, and its request id. */
  busy: Batch | undefined;
  id = 0;
  /** Failed starts since this slot's last worker came up (the backoff exponent). */
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    worker: Worker,
    private readonly workerData: unknown,
    private readonly path: string,
    private readonly delays: RestartDelays,
    private readonly hooks: SlotHooks<Batch>,
  ) {
    this.attach(worker);
  }

  /** How long the next restart of this slot waits. */
  get backoffMs(): number {
    return Math.min(this.delays.max, this.delays.initial * 2 ** this.failures);
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on("message", (reply: WorkerReply) => this.hooks.reply(this, reply));
    worker.on("error", (error) => this.onDeath(worker, error));
    worker.on("exit", (code) => this.onDeath(worker, new Error(`exited with code ${code}`)));
  }

  private onDeath(worker: Worker, error: Error): void {
    if (this.worker !== worker) return; // its 'error' and 'exit' both arrive
    const batch = this.busy;
    this.worker = undefined;
    this.busy = undefined;
    worker.removeAllListeners("message");
    void worker.terminate();
    if (this.closed) return;
    this.hooks.died(this, batch, error, this.scheduleRestart());
  }

  private scheduleRestart(): number {
    const delay = this.backoffMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.restart();
    }, delay);
    this.timer.unref();
    return delay;
  }

  private async restart(): Promise<void> {
    if (this.closed) return;
    const worker = startPoolWorker(this.workerData);
    try {
      await firstReply(worker, this.path);
    } catch (error) {
      await worker.terminate();
      if (this.closed) return;
      this.failures++;
      this.hooks.restartFailed(this, error as Error, this.scheduleRestart());
      return;
    }
    if (this.closed) {
      await worker.terminate();
      return;
    }
    this.failures = 0;
    this.attach(worker);
    this.hooks.restarted(this);
  }

  /** Asks the worker to close its session and exit (terminates it after 1 s); no restarts. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ close: true });
    await Promise.race([
      new Promise((resolve) => worker.once("exit", resolve)),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    await worker.terminate();
  }
}
