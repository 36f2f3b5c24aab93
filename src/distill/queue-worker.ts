// A queue worker's side of the BullMQ distillation: takes subset jobs of any run, rebuilds each subset's
// problem from the run descriptor and the data it loads itself (or the children's results in the shared
// directory), distils it on the local pool's worker threads and writes the result atomically.
import { Worker } from "bullmq";
import type { BackendName } from "../nn/backend.js";
import { runKey } from "./checkpoint.js";
import type { DistillConfig, DistillData } from "./distill-config.js";
import { asDistillData, loadDistillSource } from "./distill-data.js";
import type { SubsetResult } from "./dm.js";
import { type DistillPlan, planDistillation } from "./plan.js";
import { createRunner, type SubsetRunner } from "./pool.js";
import {
  parseQueueUrl,
  QUEUE_NAME,
  type RunDescriptor,
  type SubsetJobData,
  type SubsetJobResult,
} from "./queue-contract.js";
import { readRunDescriptor, readSubsetResult, writeSubsetResult } from "./queue-results.js";
import { dmConfigOf, subsetProblem } from "./subset-problem.js";

export interface QueueWorkerOptions {
  url: string;
  results: string;
  /** Subsets distilled at once, each on its own worker thread. */
  threads: number;
  /** A job whose lock is not renewed for this long is stalled and retried elsewhere. */
  lockMs: number;
  log: (event: string, fields: Record<string, unknown>) => void;
}

interface RunContext {
  descriptor: RunDescriptor;
  config: DistillConfig;
  data: DistillData;
  plan: DistillPlan;
  runner: SubsetRunner;
}

/** Loads a run once: its descriptor, its data (checked against the run's key), its plan and a thread pool. */
async function openRun(results: string, run: string, threads: number): Promise<RunContext> {
  const descriptor = await readRunDescriptor(results, run);
  if (!descriptor)
    throw new Error(`${results}/${run}/run.json is missing: is --results the coordinator's?`);
  const config = descriptor.config as unknown as DistillConfig;
  const data = asDistillData((await loadDistillSource(descriptor.data)).data);
  if (runKey(data, config, descriptor.engine?.engine) !== descriptor.key)
    throw new Error(
      `${run}: this machine's data differs from the coordinator's (run key mismatch)`,
    );
  const plan = planDistillation(data.labels, data.classes.length, config.fanIns, config.seed);
  const runner = createRunner(
    threads,
    dmConfigOf(config),
    descriptor.backend as BackendName,
    descriptor.engine,
  );
  return { descriptor, config, data, plan, runner };
}

/** The subset's input images: the data set's (level 1) or its children's results (level L ≥ 2). */
async function inputPicker(results: string, ctx: RunContext, level: number, subset: number) {
  const [h, w, c] = ctx.data.shape;
  const size = h * w * c;
  if (level === 1) return (i: number) => ctx.data.images.subarray(i * size, (i + 1) * size);
  const classes = ctx.plan.classes;
  const children = new Map<number, SubsetResult>();
  for (const index of ctx.plan.levels[level - 1].members[subset].flat()) {
    const child = Math.floor(index / classes);
    if (children.has(child)) continue;
    const result = await readSubsetResult(results, ctx.descriptor.run, level - 1, child);
    if (!result) throw new Error(`level ${level - 1} subset ${child}: no result in ${results}`);
    children.set(child, result);
  }
  return (i: number) => {
    const offset = (i % classes) * size;
    return children.get(Math.floor(i / classes))!.images.subarray(offset, offset + size);
  };
}

export interface QueueWorker {
  worker: Worker<SubsetJobData, SubsetJobResult>;
  /** Stops taking jobs, lets the running ones finish, then ends the threads. */
  close(): Promise<void>;
}

export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const runs = new Map<string, Promise<RunContext>>();
  const { results, log } = options;
  const connection = { ...parseQueueUrl(options.url), maxRetriesPerRequest: null };
  const worker = new Worker<SubsetJobData, SubsetJobResult>(
    QUEUE_NAME,
    async (job) => {
      const { run, level, subset } = job.data;
      const started = Date.now();
      log("job_started", { id: job.id, run, level, subset, attempt: job.attemptsMade + 1 });
      const done = await readSubsetResult(results, run, level, subset);
      if (done) return { firstLoss: done.firstLoss, lastLoss: done.lastLoss, reused: true };
      let context = runs.get(run);
      if (!context) {
        context = openRun(results, run, options.threads);
        context.catch(() => runs.delete(run));
        runs.set(run, context);
      }
      const ctx = await context;
      const pick = await inputPicker(results, ctx, level, subset);
      const planLevel = ctx.plan.levels[level - 1];
      const result = await ctx.runner.run({
        level,
        subset,
        problem: () => subsetProblem(ctx.config, ctx.plan, planLevel, subset, ctx.data.shape, pick),
      });
      await writeSubsetResult(results, run, { level, subset }, result, ctx.data.shape);
      log("job_done", { id: job.id, ms: Date.now() - started });
      return { firstLoss: result.firstLoss, lastLoss: result.lastLoss, reused: false };
    },
    {
      connection,
      concurrency: options.threads,
      lockDuration: options.lockMs,
      stalledInterval: Math.max(500, Math.floor(options.lockMs / 2)),
      maxStalledCount: 2,
    },
  );
  worker.on("failed", (job, error) => log("job_failed", { id: job?.id, error: error.message }));
  worker.on("error", (error) => log("worker_error", { error: error.message }));
  const close = async () => {
    await worker.close();
    for (const context of runs.values())
      await context.then(
        (c) => c.runner.close(),
        () => undefined,
      );
  };
  return { worker, close };
}
