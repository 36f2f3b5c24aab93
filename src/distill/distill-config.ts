// What runDistillation takes and gives back: the data, the distillation config, the run's
// options (workers, checkpoints, cancellation, progress callbacks) and the result.
import type { BackendName } from "../nn/backend.js";
import type { ReferenceLevel } from "../references/reference-set.js";
import type { DmConfig } from "./dm.js";
import type { LambdaScope } from "./level-lambda.js";
import type { DistillPlan } from "./plan.js";
import type { EngineSetting, SubsetRunner } from "./pool.js";

export interface DistillConfig extends DmConfig {
  fanIns: number[];
  seed: number;
  /** Whether λ holds for every level or for the hierarchy as a whole (level-lambda.ts). */
  lambdaScope?: LambdaScope;
  /** Levels of the whole hierarchy when this run distils only its top (default fanIns.length). */
  hierarchyLevels?: number;
}

export interface DistillData {
  name: string;
  /** NHWC [count, H, W, C] in [0, 1]. */
  images: Float32Array;
  labels: Uint8Array;
  shape: [number, number, number];
  classes: string[];
}

export interface Progress {
  level: number;
  levels: number;
  /** Subsets of this level finished (including those restored from a checkpoint). */
  done: number;
  total: number;
  /** Finished in this process (for rates). */
  doneHere: number;
  /** Seconds since this level started in this process. */
  seconds?: number;
  /** Mean Eq. 5 at the first and last iteration over this level's subsets computed here. */
  meanFirstLoss?: number;
  meanLastLoss?: number;
}

export interface PipelineOptions {
  /** 0 = in this thread. */
  workers: number;
  backend?: BackendName;
  /** tfjs (default) or ort, and ort's intra-op threads per worker. */
  engine?: EngineSetting;
  /** Checkpoint file; none when absent. */
  checkpoint?: string;
  /** Continue from `checkpoint` when it exists and matches this run. */
  resume?: boolean;
  /** Write a checkpoint inside a level after this many subsets or seconds, whichever first. */
  checkpointEvery?: number;
  checkpointSeconds?: number;
  /**
   * Stops the run (Ctrl-C, a queue's shutdown, a test): no new subset starts, those in flight
   * finish, the checkpoint is written and runDistillation rejects with DistillInterrupted.
   */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  onLevel?: (level: number, seconds: number) => void;
  /**
   * Runs the subsets instead of a local pool (the BullMQ queue); `workers`, `backend` and `engine`
   * then only label the run, and the runner is its owner's to close.
   */
  runner?: SubsetRunner;
}

export interface DistillOutput {
  plan: DistillPlan;
  levels: ReferenceLevel[];
  /** Per level: wall seconds in this process and the mean first/last Eq. 5 value of its subsets. */
  stats: {
    level: number;
    seconds: number;
    firstLoss: number;
    lastLoss: number;
    lambda: number;
    lr: number;
  }[];
  /** Subsets restored from the checkpoint instead of computed. */
  restored: number;
}

export class DistillInterrupted extends Error {
  override name = "DistillInterrupted";
}
