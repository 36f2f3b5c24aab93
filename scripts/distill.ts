// The five-level hierarchical distillation (Fig. 7) from the command line: writes the reference
// set atomically, PNG sheets and the intra-class similarity table next to it, and optionally the
// models manifest entry.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { FOLDER_FLAGS, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset } from "../src/data/load.js";
import { runKey } from "../src/distill/checkpoint.js";
import {
  type DistillConfig,
  type DistillData,
  DistillInterrupted,
} from "../src/distill/distill-config.js";
import { asDistillData, type DataSpec, loadDistillSource } from "../src/distill/distill-data.js";
import { DM_ENGINES, engineLine, ortThreads, resolveDmEngine } from "../src/distill/dm-ort.js";
import { fitFanIns } from "../src/distill/fan-ins.js";
import { LAMBDA_SCOPES } from "../src/distill/level-lambda.js";
import { REPULSIONS } from "../src/distill/loss.js";
import { MetricsLog, metricsPaths } from "../src/distill/metrics.js";
import { runDistillation } from "../src/distill/pipeline.js";
import { PlanError, planDistillation } from "../src/distill/plan.js";
import type { EngineSetting } from "../src/distill/pool.js";
import { DM_DEFAULTS, dmNormalization, PRESETS } from "../src/distill/presets.js";
import { progressView, subsetsPerLevel } from "../src/distill/progress.js";
import {
  parseQueueUrl,
  QueueConfigError,
  RUN_FORMAT,
  type RunDescriptor,
  runDir,
  runIdOf,
} from "../src/distill/queue-contract.js";
import { QueueRunner } from "../src/distill/queue-runner.js";
import { writeSetFiles } from "../src/distill/set-files.js";
import { similarityMarkdown } from "../src/distill/similarity.js";
import { BACKENDS, type BackendName, initBackend } from "../src/nn/backend.js";
import { type ReferenceSet, writeReferenceSet } from "../src/references/reference-set.js";
import { checkRegistration, registerReferences } from "../src/references/register.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { boolean, choice, int, list, number, readFlags, string } from "../src/util/flags.js";
import { abortOnSigint } from "../src/util/interrupt.js";
import { checkWritableOutput } from "../src/util/output-check.js";

const DEFAULT_OUT = "runs/distill/references.safetensors";
const REFERENCES_FILE = "references.safetensors";

const FLAGS = {
  config: choice(Object.keys(PRESETS), "preset: fan-ins, iterations, width, limit", {
    default: "cpu",
  }),
  data: string("the data set to distil (mnist, fashion, cifar10, idx:DIR)", { default: "mnist" }),
  "fan-ins": list(
    { kind: "int", min: 1 },
    "subsets merged per level (default: the preset's, or derived from the class sizes when they do not fit)",
  ),
  iterations: int("distribution-matching steps per subset (default: the preset's)", { min: 0 }),
  width: int("ConvNet width (default: the preset's)", { min: 1 }),
  lr: number(`step size (default ${DM_DEFAULTS.lr})`, { min: 0 }),
  momentum: number(`momentum (default ${DM_DEFAULTS.momentum})`, { min: 0 }),
  lambda: number(`λ of Eq. 5 (default ${DM_DEFAULTS.lambda})`, { min: 0 }),
  "lambda-scope": choice(LAMBDA_SCOPES, "λ for the whole hierarchy or for every level", {
    default: "hierarchy",
  }),
  repulsion: choice(REPULSIONS, "the between-class term", { default: "eq5" }),
  init: choice(["real", "mean"], "start from real images or class means", { default: "real" }),
  seed: int("seed of the plan and the subsets", { default: 1, min: 0 }),
  workers: int("worker threads distilling subsets", { default: 2, min: 1 }),
  "in-thread": boolean("distil in this thread instead of worker threads (debugging, tests)"),
  limit: int("use the first N training images (default: the preset's)", { min: 1 }),
  from: string("re-distil the upper levels of this reference set", { arg: "REFERENCES" }),
  "from-level": int("…starting from its level L (with --from)", { min: 1, arg: "L" }),
  out: string(
    `the reference set; sheets and reports go beside it (default: DIR/${REFERENCES_FILE} with --manifest DIR, else ${DEFAULT_OUT})`,
    { arg: "FILE" },
  ),
  resume: boolean("continue from FILE.checkpoint"),
  "checkpoint-seconds": number("checkpoint at most this often", { default: 60, min: 0 }),
  manifest: string("register the set in this models folder's manifest (FILE inside it)", {
    arg: "DIR",
  }),
  embedder: string("the manifest's embedder model to pair the set with (with --manifest)", {
    arg: "NAME",
  }),
  "default-level": int(
    "the level /classify uses by default (with --manifest; default: the manifest's, or the set's top level when it lacks that one)",
    { min: 1, arg: "L" },
  ),
  backend: choice(BACKENDS, "tfjs backend (--engine tfjs)", { default: "wasm" }),
  engine: choice(
    DM_ENGINES,
    "distribution matching on onnxruntime or tfjs (auto: ort when it can)",
    {
      default: "auto",
    },
  ),
  queue: string(
    "run the subsets as a BullMQ flow on this Redis, distilled by scripts/distill-worker.ts processes",
    { arg: "redis://HOST:PORT" },
  ),
  results: string(
    "the results directory shared with every scripts/distill-worker.ts (with --queue; default: FILE.queue)",
    { arg: "DIR" },
  ),
  progress: choice(
    ["bar", "lines", "json", "none"],
    "progress display (default: bar on a terminal; json: one event line per update, for a parent)",
  ),
  ...FOLDER_FLAGS,
};

/** --queue: records the run for the workers and adds its subset flow (or finds the one a previous start added). */
async function startQueue(
  url: string,
  results: string,
  data: DistillData,
  spec: DataSpec,
  config: DistillConfig,
  backend: BackendName,
  engine: EngineSetting,
): Promise<QueueRunner> {
  const key = runKey(data, config, engine.engine);
  const run = runIdOf(key);
  const plan = planDistillation(data.labels, data.classes.length, config.fanIns, config.seed);
  const descriptor: RunDescriptor = {
    format: RUN_FORMAT,
    run,
    key,
    data: spec,
    config: { ...config },
    backend,
    engine,
  };
  return QueueRunner.start({
    url,
    results,
    descriptor,
    plan,
    log: (event, fields) => process.stderr.write(`distill: ${event} ${JSON.stringify(fields)}\n`),
  });
}

const SCRIPT = {
  usage: "tsx scripts/distill.ts [--config quick|cpu|paper] [--out FILE | --manifest DIR] [flags]",
  summary:
    "The five-level hierarchical distillation (Fig. 7): the reference set, PNG sheets and the intra-class similarity table.",
};

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

/** Every flag, path and combination the run depends on, checked before any work. */
async function checkInvocation() {
  const values = readFlags(SCRIPT, FLAGS);
  const preset = PRESETS[values.config];
  const fromLevel = values["from-level"];
  if ((values.from === undefined) !== (fromLevel === undefined)) {
    throw new CliError("--from REFERENCES and --from-level L go together");
  }
  const fanIns = values["fan-ins"] ?? preset.fanIns.slice(fromLevel ?? 0);
  if (fanIns.length === 0)
    throw new CliError(`--from-level ${fromLevel} leaves no level to distil`);
  for (const flag of ["embedder", "default-level"] as const) {
    if (values[flag] !== undefined && values.manifest === undefined) {
      throw new CliError(
        `--${flag} ${flag === "embedder" ? "NAME" : "L"} goes with --manifest DIR`,
      );
    }
  }
  const out =
    values.out ??
    (values.manifest === undefined ? DEFAULT_OUT : join(values.manifest, REFERENCES_FILE));
  await checkWritableOutput(out, { flag: "out", kind: "file" });
  // Derived fan-ins keep the preset's number of levels (fewer only for tiny classes): checked
  // again once the data has said how many.
  if (values.manifest !== undefined) await checkManifest(values, out, fromLevel, fanIns);
  if (values.results !== undefined && values.queue === undefined) {
    throw new CliError("--results DIR goes with --queue redis://HOST:PORT");
  }
  if (values.queue !== undefined) {
    try {
      parseQueueUrl(values.queue);
    } catch (error) {
      if (error instanceof QueueConfigError) throw new CliError(error.message);
      throw error;
    }
  }
  return { values, preset, fromLevel, fanIns, out };
}

/** That a set with these fan-ins, written to `out`, can be registered in --manifest DIR. */
async function checkManifest(
  values: { manifest?: string; embedder?: string; "default-level"?: number },
  out: string,
  fromLevel: number | undefined,
  fanIns: number[],
) {
  if (values.manifest === undefined) return undefined;
  const levels = Array.from({ length: (fromLevel ?? 0) + fanIns.length }, (_, i) => i + 1);
  return input(
    checkRegistration(values.manifest, out, levels, {
      embedder: values.embedder,
      defaultLevel: values["default-level"],
    }),
  );
}

async function main() {
  const { values, preset, fromLevel, fanIns: candidate, out } = await checkInvocation();
  const limit = values.limit ?? preset.limit;
  const workers = values["in-thread"] ? 0 : values.workers;
  const started = Date.now();

  // As data, so that queue workers load the very same images (src/distill/distill-data.ts).
  const dataSpec: DataSpec =
    values.from && fromLevel
      ? { kind: "references", file: values.from, level: fromLevel }
      : {
          kind: "dataset",
          name: values.data,
          ...(limit !== undefined ? { limit } : {}),
          folder: folderOptions(values),
        };
  const { data, kept } = await input(loadDistillSource(dataSpec));
  const fit = await input(() =>
    fitFanIns(data.labels, data.classes.length, candidate, values.seed, {
      derive: values["fan-ins"] === undefined,
    }),
  );
  const fanIns = fit.fanIns;
  if (fit.sizes) {
    process.stderr.write(
      `distill: fan-ins ${candidate.join(",")} do not fit ${Math.min(...fit.sizes)}–${Math.max(...fit.sizes)} images per class; using ${fanIns.join(",")}, derived from the class sizes\n`,
    );
  }
  const registration = await checkManifest(values, out, fromLevel, fanIns);
  const norm = dmNormalization(data.channels);
  const config: DistillConfig = {
    fanIns,
    seed: values.seed,
    iterations: values.iterations ?? preset.iterations,
    width: values.width ?? preset.width,
    lr: values.lr ?? DM_DEFAULTS.lr,
    momentum: values.momentum ?? DM_DEFAULTS.momentum,
    lambda: values.lambda ?? DM_DEFAULTS.lambda,
    repulsion: values.repulsion,
    lambdaScope: values["lambda-scope"],
    ...(fromLevel ? { hierarchyLevels: fromLevel + fanIns.length } : {}),
    mean: norm.mean,
    std: norm.std,
    ...(values.init === "mean" ? { init: "mean" as const } : {}),
  };
  const backend = values.backend;
  const chosen = await input(() =>
    resolveDmEngine(values.engine, config, [data.height, data.width, data.channels]),
  );
  const engine: EngineSetting = { engine: chosen.engine, threads: ortThreads(workers) };
  await initBackend(backend);
  const checkpoint = `${out}.checkpoint`;
  const skipped = fromLevel ?? 0;
  const view = progressView(values.progress, {
    subsets: subsetsPerLevel(fanIns),
    firstLevel: skipped + 1,
  });
  const metrics = await MetricsLog.open(metricsPaths(out), values.resume);
  process.stderr.write(
    `distill: ${data.name} ${data.count} images, fan-ins ${fanIns.join(",")}, width ${config.width}, ${config.iterations} iterations, ${workers} workers, engine ${engineLine(values.engine, chosen, engine.threads)}\n`,
  );
  const interrupt = abortOnSigint(
    "distill",
    "stopping after the subsets in flight; the checkpoint stays resumable",
  );
  const distillData = asDistillData(data);
  const results = values.results ?? `${out}.queue`;
  let queue: QueueRunner | undefined;
  let result: Awaited<ReturnType<typeof runDistillation>>;
  try {
    if (values.queue) {
      queue = await startQueue(
        values.queue,
        results,
        distillData,
        dataSpec,
        config,
        backend,
        engine,
      );
    }
    result = await runDistillation(distillData, config, {
      runner: queue,
      workers,
      backend,
      engine,
      checkpoint,
      resume: values.resume,
      checkpointSeconds: values["checkpoint-seconds"],
      signal: interrupt.signal,
      onProgress: (p) => {
        const shifted = { ...p, level: p.level + skipped, levels: p.levels + skipped };
        view.update(shifted);
        metrics.progress(shifted);
      },
      onLevel: (level, seconds) => view.level(level + skipped, seconds),
    });
  } catch (error) {
    view.stop();
    await queue?.close();
    if (error instanceof PlanError || error instanceof QueueConfigError) {
      throw new CliError(error.message);
    }
    if (error instanceof DistillInterrupted) {
      process.stderr.write(
        `distill: interrupted, ${error.message}; run again with --resume to continue from ${checkpoint}\n`,
      );
      process.exit(130);
    }
    throw error;
  } finally {
    interrupt.dispose();
  }
  view.stop();
  await metrics.flush();
  await metrics.close();
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
      engine: engine.engine,
      workers,
      wallSeconds,
      levelSeconds: levelStats.map((s) => ({ level: s.level, seconds: s.seconds })),
      resumedSubsets: result.restored,
      createdAt: new Date().toISOString(),
    },
  };
  await writeReferenceSet(out, set);

  const real = values.from
    ? await input(loadDataset(values.data, "train", { folder: folderOptions(values) }))
    : data;
  const rows = await writeSetFiles(
    out,
    set,
    { images: real.images, labels: real.labels, count: real.count },
    { command, wallSeconds, levels: levelStats },
  );
  await rm(checkpoint, { force: true });
  if (queue) {
    await queue.removeJobs();
    await queue.close();
    await rm(runDir(results, runIdOf(runKey(distillData, config, engine.engine))), {
      recursive: true,
      force: true,
    });
  }

  if (values.manifest) {
    await registerReferences(values.manifest, out, set, {
      embedder: values.embedder,
      defaultLevel: registration?.defaultLevel,
      command,
    });
  }
  process.stdout.write(
    `${JSON.stringify({ out, version: set.version, fanIns, ...(registration ? { manifest: values.manifest, defaultLevel: registration.defaultLevel ?? null } : {}), wallSeconds: Number(wallSeconds.toFixed(1)), levels: levelStats })}\n`,
  );
  process.stdout.write(`${similarityMarkdown(rows)}\n`);
}

runScript("distill", main);
