// The five-level hierarchical distillation (Fig. 7) from the command line: writes the reference
// set atomically, PNG sheets and the intra-class similarity table next to it, and optionally the
// models manifest entry.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Dataset } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/load.js";
import { asDistillData, type DataSpec, loadDistillSource } from "../src/distill/distill-data.js";
import { LAMBDA_SCOPES, type LambdaScope } from "../src/distill/level-lambda.js";
import { REPULSIONS, type Repulsion } from "../src/distill/loss.js";
import {
  type DistillConfig,
  type DistillData,
  runDistillation,
  runKey,
} from "../src/distill/pipeline.js";
import { PlanError, planDistillation } from "../src/distill/plan.js";
import { DM_DEFAULTS, dmNormalization, PRESETS } from "../src/distill/presets.js";
import { progressView } from "../src/distill/progress.js";
import {
  parseQueueUrl,
  QueueConfigError,
  RUN_FORMAT,
  type RunDescriptor,
  runDir,
  runIdOf,
} from "../src/distill/queue-contract.js";
import { QueueRunner } from "../src/distill/queue-runner.js";
import { levelSheet, summarySheet } from "../src/distill/sheets.js";
import { levelSimilarity, similarityMarkdown } from "../src/distill/similarity.js";
import { BACKENDS, type BackendName, initBackend } from "../src/nn/backend.js";
import {
  type ReferenceLevel,
  type ReferenceSet,
  writeReferenceSet,
} from "../src/references/reference-set.js";
import { registerReferences } from "../src/references/register.js";
import { writeFileAtomic, writeJsonAtomic } from "../src/util/atomic-write.js";
import { scriptFlags } from "../src/util/cli.js";

const flags = scriptFlags("distill");
const fail: (message: string) => never = flags.fail;
const { number } = flags;

const USAGE = `usage: distill.ts [--config quick|cpu|paper] [--data mnist] [--fan-ins 10,6,5,5,4]
  [--iterations N] [--width N] [--lr X] [--momentum X] [--lambda X] [--lambda-scope hierarchy|level] [--repulsion eq5|capped] [--init real|mean]
  [--seed N] [--workers N]
  [--limit N] [--from REFERENCES --from-level L] [--out runs/distill/references.safetensors] [--resume] [--checkpoint-seconds N]
  [--manifest DIR [--embedder NAME]] [--backend wasm|tensorflow|cpu] [--stop-after N (tests)]
  [--queue redis://HOST:PORT [--results DIR (shared with every scripts/distill-worker.ts; default OUT.queue)]]`;

function parseFlags() {
  return flags.parse({
    config: { type: "string", default: "cpu" },
    data: { type: "string", default: "mnist" },
    "fan-ins": { type: "string" },
    iterations: { type: "string" },
    width: { type: "string" },
    lr: { type: "string" },
    momentum: { type: "string" },
    lambda: { type: "string" },
    repulsion: { type: "string", default: "eq5" },
    "lambda-scope": { type: "string", default: "hierarchy" },
    init: { type: "string", default: "real" },
    seed: { type: "string", default: "1" },
    workers: { type: "string", default: "2" },
    limit: { type: "string" },
    from: { type: "string" },
    "from-level": { type: "string" },
    out: { type: "string", default: "runs/distill/references.safetensors" },
    resume: { type: "boolean", default: false },
    "checkpoint-seconds": { type: "string", default: "60" },
    manifest: { type: "string" },
    embedder: { type: "string" },
    backend: { type: "string", default: "wasm" },
    "stop-after": { type: "string" },
    queue: { type: "string" },
    results: { type: "string" },
    help: { type: "boolean", default: false },
  });
}

/** --queue: records the run for the workers and adds its subset flow (or finds the one a previous start added). */
async function startQueue(
  url: string,
  results: string,
  data: DistillData,
  spec: DataSpec,
  config: DistillConfig,
  backend: BackendName,
): Promise<QueueRunner> {
  const key = runKey(data, config);
  const run = runIdOf(key);
  const plan = planDistillation(data.labels, data.classes.length, config.fanIns, config.seed);
  const descriptor: RunDescriptor = {
    format: RUN_FORMAT,
    run,
    key,
    data: spec,
    config: { ...config },
    backend,
  };
  return QueueRunner.start({
    url,
    results,
    descriptor,
    plan,
    log: (event, fields) => process.stderr.write(`distill: ${event} ${JSON.stringify(fields)}\n`),
  });
}

function codeVersion(): string {
  const git = (...args: string[]) =>
    execFileSync("git", args, { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  try {
    return `${git("rev-parse", "HEAD")}${git("status", "--porcelain") ? "+dirty" : ""}`;
  } catch {
    return "unknown";
  }
}

async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
    return `${pkg.name}@${pkg.version}`;
  } catch {
    return "unknown";
  }
}

async function main() {
  const values = parseFlags();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const preset = PRESETS[values.config];
  if (!preset)
    fail(`--config must be one of ${Object.keys(PRESETS).join(", ")}, got "${values.config}"`);
  if (!(BACKENDS as readonly string[]).includes(values.backend)) {
    fail(`--backend must be one of ${BACKENDS.join(", ")}, got "${values.backend}"`);
  }
  const fromLevel = number("from-level", values["from-level"], true, 1);
  if ((values.from === undefined) !== (fromLevel === undefined)) {
    fail("--from REFERENCES and --from-level L go together");
  }
  const fanIns = values["fan-ins"]
    ? values["fan-ins"].split(",").map((f) => number("fan-ins", f.trim(), true, 1) as number)
    : preset.fanIns.slice(fromLevel ?? 0);
  if (fanIns.length === 0) fail(`--from-level ${fromLevel} leaves no level to distil`);
  if (values.init !== "real" && values.init !== "mean") {
    fail(`--init must be real or mean, got "${values.init}"`);
  }
  if (!(REPULSIONS as readonly string[]).includes(values.repulsion)) {
    fail(`--repulsion must be one of ${REPULSIONS.join(", ")}, got "${values.repulsion}"`);
  }
  if (!(LAMBDA_SCOPES as readonly string[]).includes(values["lambda-scope"])) {
    fail(
      `--lambda-scope must be one of ${LAMBDA_SCOPES.join(", ")}, got "${values["lambda-scope"]}"`,
    );
  }
  const limit = number("limit", values.limit, true, 1) ?? preset.limit;
  const workers = number("workers", values.workers, true, 0) as number;
  if (values.results && !values.queue) fail("--results DIR goes with --queue redis://HOST:PORT");
  if (values.queue) {
    try {
      parseQueueUrl(values.queue);
    } catch (error) {
      fail((error as Error).message);
    }
  }
  const started = Date.now();

  const dataSpec: DataSpec =
    values.from && fromLevel
      ? { kind: "references", file: values.from, level: fromLevel }
      : { kind: "dataset", name: values.data, ...(limit !== undefined ? { limit } : {}) };
  let data: Dataset;
  let kept: ReferenceLevel[] = [];
  try {
    ({ data, kept } = await loadDistillSource(dataSpec));
  } catch (error) {
    fail((error as Error).message);
  }
  const norm = dmNormalization(data.channels);
  const config: DistillConfig = {
    fanIns,
    seed: number("seed", values.seed, true, 0) as number,
    iterations: number("iterations", values.iterations, true, 0) ?? preset.iterations,
    width: number("width", values.width, true, 1) ?? preset.width,
    lr: number("lr", values.lr, false, 0) ?? DM_DEFAULTS.lr,
    momentum: number("momentum", values.momentum, false, 0) ?? DM_DEFAULTS.momentum,
    lambda: number("lambda", values.lambda, false, 0) ?? DM_DEFAULTS.lambda,
    repulsion: values.repulsion as Repulsion,
    lambdaScope: values["lambda-scope"] as LambdaScope,
    ...(fromLevel ? { hierarchyLevels: fromLevel + fanIns.length } : {}),
    mean: norm.mean,
    std: norm.std,
    ...(values.init === "mean" ? { init: "mean" as const } : {}),
  };
  const backend = values.backend as BackendName;
  await initBackend(backend);
  const out = values.out;
  const checkpoint = `${out}.checkpoint`;
  const view = progressView();
  const skipped = fromLevel ?? 0;
  process.stderr.write(
    `distill: ${data.name} ${data.count} images, fan-ins ${fanIns.join(",")}, width ${config.width}, ${config.iterations} iterations, ${workers} workers\n`,
  );
  const distillData = asDistillData(data);
  const results = values.results ?? `${out}.queue`;
  let queue: QueueRunner | undefined;
  let result: Awaited<ReturnType<typeof runDistillation>>;
  try {
    if (values.queue)
      queue = await startQueue(values.queue, results, distillData, dataSpec, config, backend);
    result = await runDistillation(distillData, config, {
      runner: queue,
      workers,
      backend,
      checkpoint,
      resume: values.resume,
      checkpointSeconds: number("checkpoint-seconds", values["checkpoint-seconds"], false, 0),
      stopAfter: number("stop-after", values["stop-after"], true, 1),
      onProgress: (p) =>
        view.update({ ...p, level: p.level + skipped, levels: p.levels + skipped }),
      onLevel: (level, seconds) => view.level(level + skipped, seconds),
    });
  } catch (error) {
    view.stop();
    await queue?.close();
    if (error instanceof PlanError || error instanceof QueueConfigError) fail(error.message);
    throw error;
  }
  view.stop();
  const wallSeconds = (Date.now() - started) / 1000;
  const levelStats = result.stats.map((s) => ({ ...s, level: s.level + skipped }));

  const hash = createHash("sha256");
  for (const l of result.levels) hash.update(new Uint8Array(l.images.buffer));
  const command = `tsx scripts/distill.ts ${process.argv.slice(2).join(" ")}`.trim();
  const set: ReferenceSet = {
    version: `${data.name}-s${config.seed}-${hash.digest("hex").slice(0, 12)}`,
    classes: data.classes,
    levels: [...kept, ...result.levels.map((l) => ({ ...l, level: l.level + (fromLevel ?? 0) }))],
    height: data.height,
    width: data.width,
    channels: data.channels,
    provenance: {
      data: values.from
        ? { references: values.from, level: fromLevel, count: data.count }
        : { name: data.name, split: "train", count: data.count, limit: limit ?? null },
      seeds: { seed: config.seed, subsets: "subsetSeed(seed, level, subset)", plan: config.seed },
      config: { preset: values.config, ...config },
      method: "Eq. 5 distribution matching per subset, projected SGD, fresh ConvNet per iteration",
      codeVersion: codeVersion(),
      package: await packageVersion(),
      command,
      backend,
      workers,
      wallSeconds,
      levelSeconds: levelStats.map((s) => ({ level: s.level, seconds: s.seconds })),
      resumedSubsets: result.restored,
      createdAt: new Date().toISOString(),
    },
  };
  await writeReferenceSet(out, set);

  const dir = dirname(out);
  const stem = basename(out).replace(/\.safetensors$/, "");
  const shape = { height: data.height, width: data.width, channels: data.channels };
  const classes = data.classes.length;
  for (const level of set.levels) {
    await writeFileAtomic(
      join(dir, `${stem}.level${level.level}.png`),
      await levelSheet(level, classes, shape),
    );
  }
  const real = values.from ? await loadDataset(values.data, "train") : data;
  const original = { level: 0, images: real.images, labels: real.labels, count: real.count };
  await writeFileAtomic(
    join(dir, `${stem}.fig9.png`),
    await summarySheet(original, set.levels, classes, shape),
  );
  const rows = [original, ...set.levels].map((l) => levelSimilarity(l, classes));
  await writeJsonAtomic(join(dir, `${stem}.similarity.json`), rows);
  await writeFileAtomic(join(dir, `${stem}.similarity.md`), `${similarityMarkdown(rows)}\n`);
  await writeJsonAtomic(join(dir, `${stem}.report.json`), {
    version: set.version,
    command,
    wallSeconds,
    levels: levelStats,
    similarity: rows,
  });
  await rm(checkpoint, { force: true });
  if (queue) {
    await queue.removeJobs();
    await queue.close();
    await rm(runDir(results, runIdOf(runKey(distillData, config))), {
      recursive: true,
      force: true,
    });
  }

  if (values.manifest) {
    await registerReferences(values.manifest, out, set, { embedder: values.embedder, command });
  }
  process.stdout.write(
    `${JSON.stringify({ out, version: set.version, wallSeconds: Number(wallSeconds.toFixed(1)), levels: levelStats })}\n`,
  );
  process.stdout.write(`${similarityMarkdown(rows)}\n`);
}

main().catch((error) => {
  process.stderr.write(`distill: ${(error as Error).message}\n`);
  process.exit(1);
});
