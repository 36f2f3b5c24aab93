// The BullMQ queue's overhead per subset against the local worker pool: the same distillation run by
// scripts/distill.ts with N local worker threads, then through a private redis-server with N worker processes
// (started and ready before the coordinator). One JSON line per run; the level seconds are the pipeline's own.
// A last line: Redis memory per job, from the full MNIST flow (fan-ins 10,6,5,5,4: 725 jobs) added to it.
// Usage: tsx bench/distill-queue.ts [--workers 1,2,3 | none] [--limit 6000] [--fan-ins 10,6,5,2] [--iterations 20] [--width 16]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlowProducer, Queue } from "bullmq";
import { Redis } from "ioredis";
import { planDistillation } from "../src/distill/plan.js";
import { parseQueueUrl, QUEUE_NAME } from "../src/distill/queue-contract.js";
import { subsetFlow } from "../src/distill/queue-runner.js";
import { CliError, runScript } from "../src/util/cli.js";
import { int, list, readFlags, string } from "../src/util/flags.js";
import { startRedis } from "../test/redis-server.js";

interface Run {
  child: ChildProcess;
  stdout: string[];
  exit: Promise<number>;
}

function script(path: string, args: string[]): Run {
  const child = spawn(process.execPath, ["--import", "tsx", path, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: Run = {
    child,
    stdout: [],
    exit: new Promise((ok) => child.on("exit", (code) => ok(code ?? -1))),
  };
  let buffered = "";
  child.stdout?.on("data", (chunk) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    run.stdout.push(...lines);
  });
  child.stderr?.resume();
  return run;
}

/** Runs scripts/distill.ts to the end; its first stdout line is the JSON summary with per-level seconds. */
async function distill(args: string[]) {
  const started = Date.now();
  const run = script("scripts/distill.ts", args);
  const code = await run.exit;
  if (code !== 0) throw new Error(`scripts/distill.ts ${args.join(" ")} exited ${code}`);
  const summary = JSON.parse(run.stdout[0]) as { version: string; levels: { seconds: number }[] };
  return {
    version: summary.version,
    levelSeconds: summary.levels.reduce((a, l) => a + l.seconds, 0),
    processSeconds: (Date.now() - started) / 1000,
  };
}

/** used_memory before and after adding the MNIST `cpu` run's flow (725 jobs) to an empty Redis. */
async function redisBytesPerJob(url: string) {
  const connection = { ...parseQueueUrl(url), maxRetriesPerRequest: null };
  const client = new Redis(connection);
  const used = async () => Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1]);
  const labels = Uint8Array.from({ length: 60_000 }, (_, i) => i % 10);
  const plan = planDistillation(labels, 10, [10, 6, 5, 5, 4], 1);
  const jobs = plan.levels.reduce((a, l) => a + l.subsets, 0);
  const flow = new FlowProducer({ connection });
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    const before = await used();
    await flow.add(subsetFlow("run-bench", plan, 5, 0, 3));
    const after = await used();
    return {
      bench: "distill-queue-redis",
      jobs,
      bytes: after - before,
      bytesPerJob: Math.round((after - before) / jobs),
    };
  } finally {
    await queue.obliterate({ force: true });
    await Promise.all([flow.close(), queue.close()]);
    client.disconnect();
  }
}

const FLAGS = {
  workers: string("queue workers per run, comma-separated, or none (only the local pool)", {
    default: "1,2,3",
    arg: "N,N,…|none",
  }),
  limit: int("training images", { default: 6000, min: 1 }),
  "fan-ins": list({ kind: "int", min: 1 }, "subsets merged per level", {
    default: [10, 6, 5, 2],
  }),
  iterations: int("distribution-matching steps per subset", { default: 20, min: 1 }),
  width: int("ConvNet width", { default: 16, min: 1 }),
};

const SCRIPT = {
  usage: "tsx bench/distill-queue.ts [--workers 1,2,3 | none] [flags]",
  summary:
    "The BullMQ queue against the local pool (seconds per run, ms per subset) and Redis memory per job.",
};

runScript("bench/distill-queue", async () => {
  const flags = readFlags(SCRIPT, FLAGS);
  const counts =
    flags.workers === "none"
      ? []
      : flags.workers.split(",").map((w) => {
          const n = Number(w.trim());
          if (!Number.isInteger(n) || n < 1 || n > 64) {
            throw new CliError(`--workers must be whole numbers 1–64 or none, got "${w}"`);
          }
          return n;
        });
  const fanIns = flags["fan-ins"];
  let perLevel = fanIns.slice(1).reduce((a, b) => a * b, 1);
  let total = 0;
  fanIns.forEach((fan, l) => {
    if (l > 0) perLevel /= fan;
    total += perLevel;
  });
  if (!Number.isInteger(total)) throw new CliError("--fan-ins do not divide evenly");
  const common = [
    "--config=cpu",
    `--limit=${flags.limit}`,
    `--fan-ins=${fanIns.join(",")}`,
    `--iterations=${flags.iterations}`,
    `--width=${flags.width}`,
    "--checkpoint-seconds=0",
  ];
  const dir = await mkdtemp(join(tmpdir(), "cgnn-bench-queue-"));
  const redis = await startRedis();
  try {
    for (const n of counts) {
      const line = (mode: string, r: Awaited<ReturnType<typeof distill>>) =>
        process.stdout.write(
          `${JSON.stringify({ bench: "distill-queue", mode, workers: n, subsets: total, ...r, msPerSubset: Math.round((r.levelSeconds * 1000) / total), args: common.join(" ") })}\n`,
        );
      line(
        "local",
        await distill([
          ...common,
          `--workers=${n}`,
          `--out=${join(dir, `local${n}`, "r.safetensors")}`,
        ]),
      );
      const results = join(dir, `results${n}`);
      const workers = Array.from({ length: n }, () =>
        script("scripts/distill-worker.ts", ["--queue", redis.url, "--results", results]),
      );
      while (!workers.every((w) => w.stdout.some((l) => l.includes("worker_ready"))))
        await new Promise((r) => setTimeout(r, 50));
      try {
        line(
          "queue",
          await distill([
            ...common,
            `--workers=${n}`,
            `--queue=${redis.url}`,
            `--results=${results}`,
            `--out=${join(dir, `queue${n}`, "r.safetensors")}`,
          ]),
        );
      } finally {
        for (const w of workers) w.child.kill("SIGTERM");
        await Promise.all(workers.map((w) => w.exit));
      }
    }
    process.stdout.write(`${JSON.stringify(await redisBytesPerJob(redis.url))}\n`);
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
