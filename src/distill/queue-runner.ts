// The coordinator's side of the BullMQ queue: adds the run's subset tree as one flow (a level-L job waits on
// its fan-in children of level L−1), then hands the pipeline each subset's result from the shared results
// directory as its job completes. A restarted coordinator finds its jobs and the results already written.
import { type FlowJob, FlowProducer, Job, Queue, QueueEvents } from "bullmq";
import type { SubsetResult } from "./dm.js";
import type { DistillPlan } from "./plan.js";
import type { SubsetRunner, SubsetTask } from "./pool.js";
import {
  parseQueueUrl,
  QUEUE_NAME,
  QueueConfigError,
  type RunDescriptor,
  type SubsetJobData,
  subsetJobId,
} from "./queue-contract.js";
import { readRunDescriptor, readSubsetResult, writeRunDescriptor } from "./queue-results.js";

export interface QueueRunnerOptions {
  url: string;
  results: string;
  descriptor: RunDescriptor;
  plan: DistillPlan;
  /** Tries per subset (a stalled or failed run counts); then the run fails. */
  attempts?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** The flow of one top-level subset: itself, its children, theirs… down to level 1. */
export function subsetFlow(
  run: string,
  plan: DistillPlan,
  level: number,
  subset: number,
  attempts: number,
): FlowJob {
  const data: SubsetJobData = { run, level, subset };
  const fan = level > 1 ? plan.fanIns[level - 1] : 0;
  const children = Array.from({ length: fan }, (_, k) =>
    subsetFlow(run, plan, level - 1, subset * fan + k, attempts),
  );
  return {
    name: `L${level}`,
    queueName: QUEUE_NAME,
    data,
    opts: {
      jobId: subsetJobId(run, level, subset),
      attempts,
      backoff: { type: "exponential", delay: 1000 },
      failParentOnFailure: true,
      removeOnComplete: false,
      removeOnFail: false,
    },
    ...(children.length ? { children } : {}),
  };
}

/** Checked before the run starts: a wrong host fails in seconds instead of retrying forever. */
async function reachable(
  url: string,
  ready: Promise<unknown>,
  lastError: () => string,
  ms = 15_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const why = lastError() ? ` (last error: ${lastError()})` : "";
      reject(new QueueConfigError(`--queue ${url}: Redis did not answer in ${ms / 1000} s${why}`));
    }, ms);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class QueueRunner implements SubsetRunner {
  private constructor(
    private readonly options: QueueRunnerOptions,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {}

  /** Records the run, adds its flow unless a previous coordinator did, and waits for Redis. */
  static async start(options: QueueRunnerOptions): Promise<QueueRunner> {
    const { descriptor, plan, results } = options;
    const connection = { ...parseQueueUrl(options.url), maxRetriesPerRequest: null };
    const queue = new Queue(QUEUE_NAME, { connection });
    const events = new QueueEvents(QUEUE_NAME, { connection });
    // Connection errors are retried by ioredis; keep the last for the message instead of printing each.
    let lastError = "";
    const remember = (error: Error) => {
      lastError = error.message;
    };
    queue.on("error", remember);
    events.on("error", remember);
    try {
      await reachable(
        options.url,
        Promise.all([queue.waitUntilReady(), events.waitUntilReady()]),
        () => lastError,
      );
      const previous = await readRunDescriptor(results, descriptor.run);
      if (previous && previous.key !== descriptor.key)
        throw new Error(`${results}/${descriptor.run}: holds another run (key ${previous.key})`);
      if (!previous) await writeRunDescriptor(results, descriptor);
      const top = plan.levels[plan.levels.length - 1];
      const roots = Array.from({ length: top.subsets }, (_, s) =>
        subsetJobId(descriptor.run, top.level, s),
      );
      const existing = await Promise.all(roots.map((id) => Job.fromId(queue, id)));
      const attempts = options.attempts ?? 3;
      if (existing.every((job) => job === undefined)) {
        const flow = new FlowProducer({ connection });
        try {
          await flow.addBulk(
            Array.from({ length: top.subsets }, (_, s) =>
              subsetFlow(descriptor.run, plan, top.level, s, attempts),
            ),
          );
        } finally {
          await flow.close();
        }
        options.log?.("queue_flow_added", {
          run: descriptor.run,
          jobs: plan.levels.reduce((a, l) => a + l.subsets, 0),
        });
      } else {
        options.log?.("queue_flow_found", { run: descriptor.run });
      }
    } catch (error) {
      // close() would wait for a connection that may never come: drop the connections, do not wait.
      void Promise.allSettled([queue.disconnect(), events.disconnect()]);
      throw error;
    }
    return new QueueRunner(options, queue, events);
  }

  /** The run's id: its folder in the results directory and its jobs' prefix. */
  get runId(): string {
    return this.options.descriptor.run;
  }

  async run(task: SubsetTask): Promise<SubsetResult> {
    const { results, descriptor } = this.options;
    const { level, subset } = task;
    const ready = await readSubsetResult(results, descriptor.run, level, subset);
    if (ready) return ready;
    const id = subsetJobId(descriptor.run, level, subset);
    const job = await Job.fromId(this.queue, id);
    if (!job) throw new Error(`job ${id} is not in the queue and its result is not in ${results}`);
    await job.waitUntilFinished(this.events);
    const result = await readSubsetResult(results, descriptor.run, level, subset);
    if (!result) throw new Error(`job ${id} completed but wrote no result in ${results}`);
    return result;
  }

  /** Removes the run's jobs from the queue (after its references are written). */
  async removeJobs(): Promise<void> {
    const { plan, descriptor } = this.options;
    const top = plan.levels[plan.levels.length - 1];
    for (let s = 0; s < top.subsets; s++)
      await this.queue.remove(subsetJobId(descriptor.run, top.level, s), { removeChildren: true });
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.events.close()]);
  }
}
