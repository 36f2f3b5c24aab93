// Chooses and starts the inference engine the service uses: a worker pool by default
// (measured in bench/infer.ts), or main-thread micro-batching.
import type { InferenceEngine } from "./engine.js";
import { MicroBatcher, type MicroBatchOptions } from "./micro-batcher.js";
import { type PoolOptions, WorkerPool } from "./pool.js";

export type { InferenceEngine } from "./engine.js";

export type InferenceEngineKind = "pool" | "microbatch";

export interface EngineOptions extends PoolOptions, MicroBatchOptions {
  engine?: InferenceEngineKind;
}

export function createInferenceEngine(
  path: string,
  options: EngineOptions = {},
): Promise<InferenceEngine> {
  const { engine = "pool", ...rest } = options;
  return engine === "pool" ? WorkerPool.create(path, rest) : MicroBatcher.create(path, rest);
}
