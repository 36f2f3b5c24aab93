// The BullMQ distillation against a real, private redis-server: a coordinator and two worker PROCESSES, one
// worker killed mid-job (its job is retried after stall detection) and the coordinator killed and restarted;
// the references equal a local run's bit for bit, and the run leaves no jobs and no results behind.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type FlowJob, Queue } from "bullmq";
import { planDistillation } from "../src/distill/plan.js";
import { parseQueueUrl, QUEUE_NAME } from "../src/distill/queue-contract.js";
import { subsetFlow } from "../src/distill/queue-runner.js";
import { type ReferenceSet, readReferenceSet } from "../src/references/reference-set.js";
import { startRedis, type TestRedis } from "./redis-server.js";

const FLAGS = [
  "--config=quick",
  "--limit=600",
  "--fan-ins=10,3,2",
  "--iterations=3",
  "--width=4",
  "--checkpoint-seconds=0",
];

interface Proc {
  child: ChildProcess;
  lines: string[];
  events: Record<string, unknown>[];
  exit: Promise<number>;
}

function node(script: string, args: string[]): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = {
    child,
    lines: [],
    events: [],
    exit: new Promise((ok) => child.on("exit", (code, signal) => ok(code ?? (signal ? -1 : 0)))),
  };
  let buffered = "";
  const take = (chunk: Buffer) => {
    buffered += chunk;
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const line of parts) {
      proc.lines.push(line);
      if (line.startsWith("{")) proc.events.push(JSON.parse(line));
    }
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return proc;
}

async function until(what: string, check: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The exit code, or a failure naming the process when it has not ended in `ms` (a lost job hangs a run). */
async function exited(p: Proc, what: string, ms = 120_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`${what} did not end in ${ms / 1000} s:\n${p.lines.slice(-20).join("\n")}`),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([p.exit, late]);
  } finally {
    clearTimeout(timer);
  }
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

let local: Promise<ReferenceSet> | undefined;
/** The same run on the local pool (2 worker threads), once for the whole file. */
function localReferences(): Promise<ReferenceSet> {
  local ??= (async () => {
    const file = join(dir, "local", "refs.safetensors");
    const run = node("scripts/distill.ts", [...FLAGS, `--out=${file}`, "--workers=2"]);
    running.push(run);
    assert.equal(await exited(run, "the local run"), 0, run.lines.join("\n"));
    return readReferenceSet(file);
  })();
  return local;
}

let redis: TestRedis;
let dir: string;
const running: Proc[] = [];
before(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), "cgnn-distill-queue-"));
});
after(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

test("a queued distillation survives a killed worker and a restarted coordinator and equals the local run", async () => {
  const out = join(dir, "queue", "refs.safetensors");
  const results = join(dir, "shared-results");
  const queueFlags = [...FLAGS, `--out=${out}`, `--queue=${redis.url}`, `--results=${results}`];
  const workerFlags = ["--queue", redis.url, "--results", results, "--lock-ms", "2000"];
  const started = (p: Proc) => p.events.filter((e) => e.event === "job_started");
  const done = (p: Proc) => p.events.filter((e) => e.event === "job_done");

  const coordinator = node("scripts/distill.ts", queueFlags);
  const [a, b] = [
    node("scripts/distill-worker.ts", workerFlags),
    node("scripts/distill-worker.ts", workerFlags),
  ];
  running.push(coordinator, a, b);

  // Kill worker A the moment it has taken a job: that job is lost with it until stall detection.
  await until("worker A to take a job", () => started(a).length > 0);
  a.child.kill("SIGKILL");
  const lost = String(started(a).at(-1)?.id);
  assert.equal(await a.exit, -1);
  assert.ok(!done(a).some((e) => e.id === lost), "A died before finishing its job");

  // Kill the coordinator once worker B has finished a subset, then start it again.
  await until("worker B to finish a subset", () => done(b).length > 0);
  coordinator.child.kill("SIGKILL");
  assert.equal(await coordinator.exit, -1);
  const restarted = node("scripts/distill.ts", [...queueFlags, "--resume"]);
  running.push(restarted);
  assert.equal(await exited(restarted, "the restarted coordinator"), 0, restarted.lines.join("\n"));
  assert.ok(
    restarted.lines.some((l) => l.includes("queue_flow_found")),
    "the restart found its flow",
  );
  assert.ok(
    done(b).some((e) => e.id === lost),
    `worker B completed the job A was killed in (${lost}) after stall detection`,
  );

  const [queued, reference] = [await readReferenceSet(out), await localReferences()];
  // The version ends in a hash of the float32 levels: equal versions mean equal images before quantising.
  assert.equal(queued.version, reference.version);
  assert.equal(queued.levels.length, 3);
  queued.levels.forEach((level, i) => {
    assert.deepEqual(level.images, reference.levels[i].images, `level ${level.level}`);
  });

  assert.deepEqual(await readdir(results), [], "the finished run's results are removed");
  assert.equal(await exists(`${out}.checkpoint`), false);
  const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
  try {
    const counts = await queue.getJobCounts();
    assert.deepEqual(
      Object.entries(counts).filter(([, n]) => n > 0),
      [],
      "the finished run's jobs are removed",
    );
  } finally {
    await queue.close();
  }

  b.child.kill("SIGTERM");
  assert.equal(await b.exit, 0, "a worker stops cleanly on SIGTERM");
});

test("a Redis restarted mid-run (append-only file) loses no job: the run finishes with the same references", async () => {
  const out = join(dir, "restart", "refs.safetensors");
  const results = join(dir, "restart-results");
  const coordinator = node("scripts/distill.ts", [
    ...FLAGS,
    `--out=${out}`,
    `--queue=${redis.url}`,
    `--results=${results}`,
  ]);
  const worker = node("scripts/distill-worker.ts", [
    "--queue",
    redis.url,
    "--results",
    results,
    "--lock-ms",
    "2000",
  ]);
  running.push(coordinator, worker);
  await until("a finished subset", () => worker.events.some((e) => e.event === "job_done"));
  await redis.restart();
  assert.equal(await exited(coordinator, "the coordinator"), 0, coordinator.lines.join("\n"));
  const [queued, reference] = [await readReferenceSet(out), await localReferences()];
  assert.equal(queued.version, reference.version);
  worker.child.kill("SIGTERM");
  assert.equal(await worker.exit, 0);
});

test("the subset flow is the plan's tree: each level-L job a parent of its fan-in level-(L−1) jobs", () => {
  const labels = Uint8Array.from({ length: 600 }, (_, i) => i % 10);
  const plan = planDistillation(labels, 10, [10, 3, 2], 1);
  const root = subsetFlow("run-x", plan, 3, 0, 3);
  const ids: string[] = [];
  const walk = (node: FlowJob, depth: number) => {
    ids.push(String(node.opts?.jobId));
    assert.equal((node.data as { level: number }).level, 3 - depth);
    for (const child of node.children ?? []) walk(child, depth + 1);
  };
  walk(root, 0);
  assert.deepEqual(
    root.children?.map((c) => c.opts?.jobId),
    ["run-x-L2-S0", "run-x-L2-S1"],
  );
  assert.deepEqual(
    root.children?.[1].children?.map((c) => c.opts?.jobId),
    ["run-x-L1-S3", "run-x-L1-S4", "run-x-L1-S5"],
  );
  assert.equal(
    ids.length,
    plan.levels.reduce((a, l) => a + l.subsets, 0),
  );
  assert.equal(new Set(ids).size, ids.length);
});

test("a bad --queue URL or --results without --queue ends the coordinator with exit code 2 at once", async () => {
  for (const [args, message] of [
    [["--queue", "http://localhost:6379"], /--queue must be a redis:\/\/HOST:PORT URL/],
    [["--results", join(dir, "r")], /--results DIR goes with --queue/],
  ] as const) {
    const run = node("scripts/distill.ts", [...args]);
    assert.equal(await run.exit, 2);
    assert.match(run.lines.join("\n"), message);
  }
});
