// Micro-batching on the main thread: requests that arrive within maxWaitMs (or until maxBatch
// images) share one session.run, which bounds how often inference blocks the event loop. The
// queue is bounded: past maxQueue waiting images a request is refused (a 503), not queued.
import { basename } from "node:path";
import {
  checkQueueBound,
  DEFAULT_MAX_QUEUE,
  type InferenceEngine,
  joinInputs,
  type PendingRequest,
  settleBatch,
  takeBatch,
} from "./engine.js";
import { type LoadOptions, loadOnnxModel, type OnnxModel, validateBatch } from "./runtime.js";

export interface MicroBatchOptions extends LoadOptions {
  maxBatch?: number;
  maxWaitMs?: number;
  /** Most images waiting for the session; a request beyond it is refused (default DEFAULT_MAX_QUEUE). */
  maxQueue?: number;
}

export class MicroBatcher implements InferenceEngine {
  private readonly queue: PendingRequest[] = [];
  private queued = 0;
  /** The main-thread session cannot die on its own. */
  readonly alive = true;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;

  private constructor(
    private readonly model: OnnxModel,
    private readonly maxBatch: number,
    private readonly maxWaitMs: number,
    private readonly maxQueue: number,
  ) {}

  static async create(path: string, options: MicroBatchOptions = {}): Promise<MicroBatcher> {
    const model = await loadOnnxModel(path, { intraOpNumThreads: 2, ...options });
    const { maxBatch = 64, maxWaitMs = 2, maxQueue = DEFAULT_MAX_QUEUE } = options;
    return new MicroBatcher(model, maxBatch, maxWaitMs, maxQueue);
  }

  get metadata() {
    return this.model.metadata;
  }
  get inputShape() {
    return this.model.inputShape;
  }
  get outputDim() {
    return this.model.outputDim;
  }
  get queuedImages() {
    return this.queued;
  }

  run(input: Float32Array, n: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error(`${this.model.path}: engine is closed`));
    return new Promise((resolve, reject) => {
      validateBatch(input, n, this.model.inputShape, this.model.path);
      checkQueueBound(this.queued, n, this.maxQueue, `model ${basename(this.model.path)}`);
      this.queue.push({ input, n, resolve, reject });
      this.queued += n;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const rows = this.queue.reduce((s, r) => s + r.n, 0);
    if (rows >= this.maxBatch || this.maxWaitMs <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => this.flush());
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.maxWaitMs);
    }
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = takeBatch(this.queue, this.maxBatch);
    for (const r of batch) this.queued -= r.n;
    try {
      const { input, n } = joinInputs(batch);
      settleBatch(batch, await this.model.run(input, n), this.model.outputDim);
    } catch (error) {
      for (const r of batch) r.reject(error as Error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.queued = 0;
    for (const r of this.queue.splice(0)) r.reject(new Error(`${this.model.path}: engine closed`));
    await this.model.close();
  }
}
