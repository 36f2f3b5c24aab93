// Micro-batching on the main thread: requests that arrive within maxWaitMs (or until maxBatch
// images) share one session.run, which bounds how often inference blocks the event loop.
import {
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
}

export class MicroBatcher implements InferenceEngine {
  private readonly queue: PendingRequest[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;

  private constructor(
    private readonly model: OnnxModel,
    private readonly maxBatch: number,
    private readonly maxWaitMs: number,
  ) {}

  static async create(path: string, options: MicroBatchOptions = {}): Promise<MicroBatcher> {
    const model = await loadOnnxModel(path, { intraOpNumThreads: 2, ...options });
    return new MicroBatcher(model, options.maxBatch ?? 64, options.maxWaitMs ?? 2);
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

  run(input: Float32Array, n: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error(`${this.model.path}: engine is closed`));
    return new Promise((resolve, reject) => {
      validateBatch(input, n, this.model.inputShape, this.model.path);
      this.queue.push({ input, n, resolve, reject });
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
    for (const r of this.queue.splice(0)) r.reject(new Error(`${this.model.path}: engine closed`));
    await this.model.close();
  }
}
