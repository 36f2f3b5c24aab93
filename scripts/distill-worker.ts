// A distillation worker for the BullMQ queue: run any number of these, on any machines that mount the
// coordinator's results directory and can load its data; each distils subsets until SIGTERM (then finishes
// the running ones). Logs one JSON line per event on stdout.
import { parseQueueUrl, QueueConfigError } from "../src/distill/queue-contract.js";
import { startQueueWorker } from "../src/distill/queue-worker.js";
import { CliError, runScript } from "../src/util/cli.js";
import { int, readFlags, string } from "../src/util/flags.js";

const FLAGS = {
  queue: string("the coordinator's Redis (scripts/distill.ts --queue)", {
    required: true,
    arg: "redis://HOST:PORT",
  }),
  results: string("the coordinator's results directory (scripts/distill.ts --results)", {
    required: true,
    arg: "DIR",
  }),
  threads: int("subsets at once, one worker thread each", { default: 1, min: 1, max: 256 }),
  "lock-ms": int("a job not heard from for this long is retried elsewhere", {
    default: 30_000,
    min: 1000,
    max: 3_600_000,
  }),
};

const SCRIPT = {
  usage: "tsx scripts/distill-worker.ts --queue redis://HOST:PORT --results DIR [flags]",
  summary:
    "Distils subsets of scripts/distill.ts --queue runs on this machine's threads until SIGTERM.",
};

runScript("distill-worker", async () => {
  const flags = readFlags(SCRIPT, FLAGS);
  try {
    parseQueueUrl(flags.queue);
  } catch (error) {
    if (error instanceof QueueConfigError) throw new CliError(error.message);
    throw error;
  }
  const log = (event: string, fields: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify({ event, pid: process.pid, ...fields })}\n`);
  const worker = startQueueWorker({
    url: flags.queue,
    results: flags.results,
    threads: flags.threads,
    lockMs: flags["lock-ms"],
    log,
  });
  await worker.worker.waitUntilReady();
  log("worker_ready", { queue: flags.queue, results: flags.results });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log("worker_stopping", { signal });
      worker.close().then(resolve, resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  log("worker_stopped", {});
});
