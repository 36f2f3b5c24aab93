// The five-level distillation of Fig. 7: every subset of every level distilled on a worker pool,
// checkpointed after every level and periodically inside a level, resumable after a crash.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { BackendName } from "../nn/backend.js";
import { decodeSafetensors, saveWeights, type Weights } from "../nn/weights.js";
import type { ReferenceLevel } from "../references/reference-set.js";
import type { DmConfig } from "./dm.js";
import type { LambdaScope } from "./level-lambda.js";
import { type DistillPlan, planDistillation } from "./plan.js";
import { createRunner, type SubsetRunner } from "./pool.js";
import { dmConfigOf, levelSettings, subsetProblem } from "./subset-problem.js";

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
}

export interface PipelineOptions {
  /** 0 = in this thread. */
  workers: number;
  backend?: BackendName;
  /** Checkpoint file; none when absent. */
  checkpoint?: string;
  /** Continue from `checkpoint` when it exists and matches this run. */
  resume?: boolean;
  /** Write a checkpoint inside a level after this many subsets or seconds, whichever first. */
  checkpointEvery?: number;
  checkpointSeconds?: number;
  /** Stop (checkpoint, then throw DistillInterrupted) after this many subsets here: for tests. */
  stopAfter?: number;
  onProgress?: (progress: Progress) => void;
  onLevel?: (level: number, seconds: number) => void;
  /** Runs the subsets instead of a local pool (the BullMQ queue); `workers` then only labels the run. */
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

const CHECKPOINT_FORMAT = "cgnn-distill-checkpoint/1";

/** sha256 of the data and config: a checkpoint only resumes the very same run. */
export function runKey(data: DistillData, config: DistillConfig): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ name: data.name, shape: data.shape, classes: data.classes }));
  hash.update(new Uint8Array(data.images.buffer, data.images.byteOffset, data.images.byteLength));
  hash.update(data.labels);
  hash.update(JSON.stringify(config));
  return hash.digest("hex");
}

interface Restored {
  done: Map<number, { images: Float32Array; done: Uint8Array }>;
  count: number;
}

async function loadCheckpoint(path: string, key: string, plan: DistillPlan): Promise<Restored> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { done: new Map(), count: 0 };
    throw error;
  }
  const { weights, metadata } = decodeSafetensors(bytes, path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a distillation checkpoint (format ${metadata.format})`);
  }
  if (metadata.key !== key) {
    throw new Error(
      `${path}: checkpoint belongs to another run (different data or config); remove it or drop --resume`,
    );
  }
  const restored: Restored = { done: new Map(), count: 0 };
  for (const level of plan.levels) {
    const images = weights[`level${level.level}.images`];
    const done = weights[`level${level.level}.done`];
    if (!images || !done) continue;
    const flags = Uint8Array.from(done.data);
    restored.done.set(level.level, { images: images.data, done: flags });
    restored.count += flags.reduce((a, b) => a + b, 0);
  }
  return restored;
}

/** Distils every level; resolves with levels 1..K (level L holds subsets(L)·classes images). */
export async function runDistillation(
  data: DistillData,
  config: DistillConfig,
  options: PipelineOptions,
): Promise<DistillOutput> {
  const classes = data.classes.length;
  const [h, w, c] = data.shape;
  const size = h * w * c;
  const plan = planDistillation(data.labels, classes, config.fanIns, config.seed);
  const key = runKey(data, config);
  const restored =
    options.checkpoint && options.resume
      ? await loadCheckpoint(options.checkpoint, key, plan)
      : { done: new Map(), count: 0 };
  const runner =
    options.runner ?? createRunner(options.workers, dmConfigOf(config), options.backend ?? "wasm");
  const state = new Map<number, { images: Float32Array; done: Uint8Array }>();
  const levels: ReferenceLevel[] = [];
  const stats: DistillOutput["stats"] = [];
  let writing: Promise<void> = Promise.resolve();
  let doneHere = 0;

  const checkpoint = () => {
    if (!options.checkpoint) return writing;
    const tensors: Weights = {};
    for (const [level, s] of state) {
      tensors[`level${level}.images`] = {
        shape: [s.done.length, classes, h, w, c],
        data: s.images,
      };
      tensors[`level${level}.done`] = { shape: [s.done.length], data: Float32Array.from(s.done) };
    }
    const path = options.checkpoint;
    const metadata = { format: CHECKPOINT_FORMAT, key, config: JSON.stringify(config) };
    // The done flags are copied now; image slots of subsets not marked done are ignored on
    // resume, so sharing the live image arrays with a later write is safe.
    writing = writing.then(() => saveWeights(path, tensors, metadata));
    return writing;
  };

  try {
    for (const level of plan.levels) {
      const started = Date.now();
      const s = restored.done.get(level.level) ?? {
        images: new Float32Array(level.subsets * classes * size),
        done: new Uint8Array(level.subsets),
      };
      state.set(level.level, s);
      const source = level.level === 1 ? data.images : levels[levels.length - 1].images;
      const todo = [...level.members.keys()].filter((i) => !s.done[i]);
      let done = level.subsets - todo.length;
      let sinceCheckpoint = 0;
      let lastCheckpoint = Date.now();
      let firstLoss = 0;
      let lastLoss = 0;
      let stopped = false;
      options.onProgress?.({
        level: level.level,
        levels: plan.levels.length,
        done,
        total: level.subsets,
        doneHere,
      });

      const { lambda, lr } = levelSettings(config, classes, plan);
      const pick = (index: number) => source.subarray(index * size, (index + 1) * size);
      const problem = (subset: number) => () =>
        subsetProblem(config, plan, level, subset, data.shape, pick);

      const inFlight = new Set<Promise<void>>();
      // A queue holds every subset already; locally, two tasks per worker keep the pool busy.
      const limit = options.runner ? Number.POSITIVE_INFINITY : Math.max(1, options.workers) * 2;
      for (const subset of todo) {
        if (stopped) break;
        const at = { level: level.level, subset, problem: problem(subset) };
        const task = runner.run(at).then((result) => {
          s.images.set(result.images, subset * classes * size);
          s.done[subset] = 1;
          done++;
          doneHere++;
          sinceCheckpoint++;
          firstLoss += result.firstLoss;
          lastLoss += result.lastLoss;
          options.onProgress?.({
            level: level.level,
            levels: plan.levels.length,
            done,
            total: level.subsets,
            doneHere,
          });
          if (options.stopAfter !== undefined && doneHere >= options.stopAfter) stopped = true;
          const due =
            sinceCheckpoint >= (options.checkpointEvery ?? Number.POSITIVE_INFINITY) ||
            Date.now() - lastCheckpoint >=
              (options.checkpointSeconds ?? Number.POSITIVE_INFINITY) * 1000;
          if (due && done < level.subsets) {
            sinceCheckpoint = 0;
            lastCheckpoint = Date.now();
            checkpoint().catch(() => undefined); // a failed write fails the level-end checkpoint
          }
        });
        const tracked = task.finally(() => inFlight.delete(tracked));
        tracked.catch(() => undefined);
        inFlight.add(tracked);
        if (inFlight.size >= limit) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (stopped && done < level.subsets) {
        await checkpoint();
        throw new DistillInterrupted(
          `stopped after ${doneHere} subsets (level ${level.level}: ${done}/${level.subsets})`,
        );
      }
      levels.push({
        level: level.level,
        images: s.images,
        labels: Uint8Array.from({ length: level.subsets * classes }, (_, i) => i % classes),
        count: level.subsets * classes,
      });
      const seconds = (Date.now() - started) / 1000;
      const computed = todo.length || 1;
      stats.push({
        level: level.level,
        seconds,
        firstLoss: firstLoss / computed,
        lastLoss: lastLoss / computed,
        lambda,
        lr,
      });
      options.onLevel?.(level.level, seconds);
      await checkpoint();
      if (stopped && level !== plan.levels[plan.levels.length - 1]) {
        throw new DistillInterrupted(
          `stopped after ${doneHere} subsets (end of level ${level.level})`,
        );
      }
    }
  } finally {
    await writing.catch(() => undefined);
    if (!options.runner) await runner.close(); // an injected runner is its owner's to close
  }
  return { plan, levels, stats, restored: restored.count };
}
