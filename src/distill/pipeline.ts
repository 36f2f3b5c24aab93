// The five-level distillation of Fig. 7: every subset of every level distilled on a worker pool,
// checkpointed after every level and periodically inside a level, resumable after a crash or an
// abort. runDistillation reads as its steps: plan, restore, distil each level, collect.
import type { ReferenceLevel } from "../references/reference-set.js";
import {
  CheckpointWriter,
  type LevelState,
  loadDistillCheckpoint,
  type Restored,
  runKey,
} from "./checkpoint.js";
import {
  type DistillConfig,
  type DistillData,
  DistillInterrupted,
  type DistillOutput,
  type PipelineOptions,
} from "./distill-config.js";
import type { SubsetProblem } from "./dm.js";
import { type DistillPlan, planDistillation } from "./plan.js";
import { createRunner, type SubsetRunner, type SubsetTask } from "./pool.js";
import { dmConfigOf, levelSettings, subsetProblem } from "./subset-problem.js";

type PlannedLevel = DistillPlan["levels"][number];

/** What every level of one run shares. */
interface RunContext {
  data: DistillData;
  config: DistillConfig;
  options: PipelineOptions;
  plan: DistillPlan;
  runner: SubsetRunner;
  checkpoints: CheckpointWriter;
  /** Live state of every level started so far (what a checkpoint holds). */
  state: Map<number, LevelState>;
  restored: Restored;
  /** Subsets finished in this process. */
  doneHere: number;
}

/**
 * The problem of one subset, built on demand (subset-problem.ts, which a queue worker calls too):
 * its member images (from the level below), labels and seed.
 */
function subsetProblems(
  run: RunContext,
  level: PlannedLevel,
  source: Float32Array,
): (subset: number) => SubsetProblem {
  const { data, config, plan } = run;
  const size = data.shape.reduce((a, b) => a * b, 1);
  const pick = (index: number) => source.subarray(index * size, (index + 1) * size);
  return (subset) => subsetProblem(config, plan, level, subset, data.shape, pick);
}

/** Whether a checkpoint inside the level is due (every N subsets or S seconds). */
function checkpointClock(options: PipelineOptions) {
  let since = 0;
  let last = Date.now();
  return {
    tick(): boolean {
      since++;
      const due =
        since >= (options.checkpointEvery ?? Number.POSITIVE_INFINITY) ||
        Date.now() - last >= (options.checkpointSeconds ?? Number.POSITIVE_INFINITY) * 1000;
      if (due) {
        since = 0;
        last = Date.now();
      }
      return due;
    },
  };
}

/**
 * Distils the subsets of one level not done yet, at most 2 per worker in flight (an injected
 * runner, the queue, takes them all at once); stops starting new ones when the signal aborts.
 * Returns the mean first/last Eq. 5 values.
 */
async function distilSubsets(
  run: RunContext,
  level: PlannedLevel,
  s: LevelState,
  problemFor: (subset: number) => SubsetProblem,
  todo: number[],
): Promise<{ firstLoss: number; lastLoss: number }> {
  const { options, plan } = run;
  const subsetSize = s.images.length / level.subsets;
  let done = level.subsets - todo.length;
  let firstLoss = 0;
  let lastLoss = 0;
  let computedHere = 0;
  const started = Date.now();
  const clock = checkpointClock(options);
  const report = () =>
    options.onProgress?.({
      level: level.level,
      levels: plan.levels.length,
      done,
      total: level.subsets,
      doneHere: run.doneHere,
      seconds: (Date.now() - started) / 1000,
      ...(computedHere > 0
        ? { meanFirstLoss: firstLoss / computedHere, meanLastLoss: lastLoss / computedHere }
        : {}),
    });
  report();
  const inFlight = new Set<Promise<void>>();
  // A queue holds every subset already; locally, two tasks per worker keep the pool busy.
  const limit = options.runner ? Number.POSITIVE_INFINITY : Math.max(1, options.workers) * 2;
  for (const subset of todo) {
    if (options.signal?.aborted) break;
    const at: SubsetTask = { level: level.level, subset, problem: () => problemFor(subset) };
    const task = run.runner.run(at).then((result) => {
      s.images.set(result.images, subset * subsetSize);
      s.done[subset] = 1;
      done++;
      run.doneHere++;
      firstLoss += result.firstLoss;
      lastLoss += result.lastLoss;
      computedHere++;
      report();
      if (clock.tick() && done < level.subsets) {
        run.checkpoints.save().catch(() => undefined); // a failed write fails the level-end one
      }
    });
    const tracked = task.finally(() => inFlight.delete(tracked));
    tracked.catch(() => undefined);
    inFlight.add(tracked);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const computed = todo.length || 1;
  return { firstLoss: firstLoss / computed, lastLoss: lastLoss / computed };
}

/** One level: restored or fresh state, its subsets distilled, then a checkpoint. */
async function distilLevel(
  run: RunContext,
  level: PlannedLevel,
  below: ReferenceLevel | undefined,
): Promise<{ level: ReferenceLevel; stats: DistillOutput["stats"][number] }> {
  const { data, config, plan, options } = run;
  const classes = data.classes.length;
  const size = data.shape.reduce((a, b) => a * b, 1);
  const started = Date.now();
  const s = run.restored.done.get(level.level) ?? {
    images: new Float32Array(level.subsets * classes * size),
    done: new Uint8Array(level.subsets),
  };
  run.state.set(level.level, s);
  const problemFor = subsetProblems(run, level, below ? below.images : data.images);
  const todo = [...level.members.keys()].filter((i) => !s.done[i]);
  const losses = await distilSubsets(run, level, s, problemFor, todo);
  const done = s.done.reduce((a, b) => a + b, 0);
  if (options.signal?.aborted && done < level.subsets) {
    await run.checkpoints.save();
    throw new DistillInterrupted(
      `stopped after ${run.doneHere} subsets (level ${level.level}: ${done}/${level.subsets})`,
    );
  }
  const seconds = (Date.now() - started) / 1000;
  const { lambda, lr } = levelSettings(config, classes, plan);
  options.onLevel?.(level.level, seconds);
  await run.checkpoints.save();
  return {
    level: {
      level: level.level,
      images: s.images,
      labels: Uint8Array.from({ length: level.subsets * classes }, (_, i) => i % classes),
      count: level.subsets * classes,
    },
    stats: {
      level: level.level,
      seconds,
      ...losses,
      lambda,
      lr,
    },
  };
}

/** Distils every level; resolves with levels 1..K (level L holds subsets(L)·classes images). */
export async function runDistillation(
  data: DistillData,
  config: DistillConfig,
  options: PipelineOptions,
): Promise<DistillOutput> {
  const classes = data.classes.length;
  const plan = planDistillation(data.labels, classes, config.fanIns, config.seed);
  const key = runKey(data, config, options.engine?.engine);
  const restored =
    options.checkpoint && options.resume
      ? await loadDistillCheckpoint(options.checkpoint, key, plan)
      : { done: new Map(), count: 0 };
  const state = new Map<number, LevelState>();
  const run: RunContext = {
    data,
    config,
    options,
    plan,
    runner:
      options.runner ??
      createRunner(options.workers, dmConfigOf(config), options.backend ?? "wasm", options.engine),
    checkpoints: CheckpointWriter.forRun(options.checkpoint, key, config, state, [
      classes,
      ...data.shape,
    ]),
    state,
    restored,
    doneHere: 0,
  };
  const levels: ReferenceLevel[] = [];
  const stats: DistillOutput["stats"] = [];
  try {
    for (const level of plan.levels) {
      const result = await distilLevel(run, level, levels.at(-1));
      levels.push(result.level);
      stats.push(result.stats);
      if (options.signal?.aborted && level !== plan.levels.at(-1)) {
        throw new DistillInterrupted(
          `stopped after ${run.doneHere} subsets (end of level ${level.level})`,
        );
      }
    }
  } finally {
    await run.checkpoints.settle();
    if (!options.runner) await run.runner.close(); // an injected runner is its owner's to close
  }
  return { plan, levels, stats, restored: restored.count };
}
