// A distillation worker for the BullMQ queue: run any number of these, on any machines that mount the
// coordinator's results directory and can load its data; each distils subsets until SIGTERM (then finishes
// the running ones). Logs one JSON line per event on stdout.
import { parseQueueUrl, QueueConfigError } from "../src/distill/queue-contract.js";
import { startQueueWorker } from "../src/distill/queue-worker.js";
import { CliError, intFlag, main, parseCli } from "../src/util/cli.js";

const USAGE = `usage: tsx scripts/distill-worker.ts --queue redis://HOST:PORT --results DIR
  [--threads N (subsets at once, one worker thread each; default 1)]
  [--lock-ms N (a job not heard from for this long is retried elsewhere; default 30000)]`;

main(async () => {
  if (process.argv.includes("--help")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const flags = parseCli({
    queue: { type: "string" },
    results: { type: "string" },
    threads: { type: "string" },
    "lock-ms": { type: "string" },
  });
  if (!flags.queue || !flags.results)
    throw new CliError(`--queue and --results are required; ${USAGE}`);
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
    threads: intFlag(flags.threads, "threads", 1, { min: 1, max: 256 }),
    lockMs: intFlag(flags["lock-ms"], "lock-ms", 30_000, { min: 1000, max: 3_600_000 }),
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
