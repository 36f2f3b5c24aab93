// One command from a labelled data set to a served model: train the embedder, distil the
// references (fan-ins from the class sizes), with --match fit the upper levels to the embedder,
// evaluate by angle with the class-mean and 1-NN baselines, export ONNX with a stage manifest,
// and with --publish swap model and references into a service's models directory in one
// manifest write. Each stage resumes or is skipped when its output exists; one progress bar
// spans the whole run (stages weighted by their work).
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { augmentFlags } from "../src/data/augment-flags.js";
import { FOLDER_FLAGS, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset } from "../src/data/load.js";
import { MATCH_DEFAULTS } from "../src/distill/embedding-match.js";
import { deriveFanIns } from "../src/distill/fan-ins.js";
import { PRESETS } from "../src/distill/presets.js";
import { pipelineWork } from "../src/eval/pipeline-work.js";
import { entryPath, readManifest, updateManifest } from "../src/models/manifest.js";
import { type ResnetDepth, resnetEmbeddingSize, resnetSpec } from "../src/nn/resnet.js";
import { readReferenceSet } from "../src/references/reference-set.js";
import { resolveEngine } from "../src/train/create-engine.js";
import { embedderHead } from "../src/train/heads.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { choice, int, list, number, readFlags, string } from "../src/util/flags.js";
import { checkWritableOutput } from "../src/util/output-check.js";
import type { RunProgressView } from "../src/util/run-progress-view.js";
import { runStages, type Stage } from "../src/util/run-stages.js";
import { runStageProcess, StageFailed } from "../src/util/stage-process.js";

const FLAGS = {
  data: string("folder:DIR, idx:DIR, fashion, mnist or cifar10", { required: true }),
  out: string(
    "the run folder: embedder, distill, evaluation and a stage models folder (with --match: match/)",
    {
      required: true,
      arg: "DIR",
    },
  ),
  publish: string("then swap model and references into this models folder (one manifest write)", {
    arg: "DIR",
  }),
  name: string("the model's name (default: the --out folder's name)"),
  version: string("the model's version", { default: "1" }),
  depth: choice(["18", "50"], "ResNet depth", { default: "18" }),
  width: int("ResNet base width", { default: 8, min: 1 }),
  epochs: int("embedder epochs", { default: 5, min: 1 }),
  batch: int("embedder batch size", { default: 64, min: 1 }),
  loss: choice(["ce", "arcface"], "the embedder head's loss", { default: "ce" }),
  ...augmentFlags({ note: "of the embedder's training images" }),
  workers: int("threads for training (ort intra-op, or tfjs workers) and distillation workers", {
    default: 1,
    min: 1,
  }),
  limit: int("use the first N training images in every stage (default: all)", { min: 1 }),
  "test-limit": int("score on the first N test images (default: all)", { min: 1 }),
  levels: int("distillation levels (fan-ins derived from the class sizes)", { default: 5, min: 1 }),
  "fan-ins": list({ kind: "int", min: 1 }, "explicit fan-ins instead of derived ones"),
  match: list(
    { kind: "int", min: 1 },
    "fit these levels' references to the trained embedder (match-references.ts), e.g. 3,4,5",
  ),
  "distill-config": choice(Object.keys(PRESETS), "distillation preset", { default: "cpu" }),
  "dm-lr": number("distribution-matching step size (default: the preset's; 0.1 for colour)", {
    above: 0,
  }),
  progress: choice(
    ["bar", "lines", "none"],
    "one progress display for the whole run (default: bar on a terminal, else a line every 10 s)",
  ),
  ...FOLDER_FLAGS,
};

const SCRIPT = {
  usage: "tsx scripts/pipeline.ts --data folder:DIR --out runs/NAME [--publish models] [flags]",
  summary: `One command from a labelled data set to a served model. Stages (each skipped when its output
exists; training and distillation resume): train the embedder, distil the references, evaluate by
angle, export ONNX into OUT/models; --publish DIR then copies both into DIR and swaps them in with
one manifest write (a running service reloads).`,
};

/** Runs one of the project's scripts: its progress events to the view, its other output through it. */
function runStage(view: RunProgressView, name: string, args: string[]): Promise<void> {
  return runStageProcess(["--import", "tsx"], `scripts/${name}.ts`, args, {
    event: (event) => view.event(event),
    text: (line) => view.text(line),
  });
}

/**
 * train-embedder's flags for `threads` threads: intra-op threads (--threads) on the ort engine,
 * which auto takes for every ResNet it can train, worker threads (--workers) on tfjs.
 */
function trainThreadFlags(
  shape: [number, number, number],
  classes: number,
  depth: ResnetDepth,
  width: number,
  loss: "ce" | "arcface",
  threads: number,
): string[] {
  const norm = { mean: new Array(shape[2]).fill(0), std: new Array(shape[2]).fill(1) };
  const spec = resnetSpec({ depth, width, input: shape, ...norm });
  const head = embedderHead({ loss, embeddingSize: resnetEmbeddingSize(depth, width), classes });
  const flag = resolveEngine("auto", { spec, head }) === "ort" ? "--threads" : "--workers";
  return [flag, String(threads)];
}

/** A matched set from an earlier run must hold the levels asked for now (the stage is skipped). */
async function checkMatchedLevels(file: string, levels: number[]): Promise<void> {
  const set = await input(readReferenceSet(file));
  const record = set.provenance.embeddingMatch as { levels?: number[] } | undefined;
  const had = [...(record?.levels ?? [])].sort((a, b) => a - b).join(",");
  const asked = [...levels].sort((a, b) => a - b).join(",");
  if (had !== asked) {
    throw new CliError(
      `${file} holds levels ${had || "none"} matched, not --match ${levels.join(",")}: give another --out or remove ${dirname(file)}`,
    );
  }
}

/** The level with the best accuracy by angle (the higher level, fewer references, on a tie). */
function bestLevel(evaluation: { accuracy?: Record<string, number> }): number | undefined {
  let best: [number, number] | undefined;
  for (const [key, accuracy] of Object.entries(evaluation.accuracy ?? {})) {
    const level = Number(key.slice(1));
    if (!best || accuracy > best[1] || (accuracy === best[1] && level > best[0])) {
      best = [level, accuracy];
    }
  }
  return best?.[0];
}

/** Copies the stage's model and references into `dir` under new names, then one manifest write. */
async function publish(stage: string, dir: string, name: string, version: string) {
  const staged = await readManifest(stage);
  const model = staged.models[name];
  const refs = staged.references;
  if (!model || !refs) throw new Error(`${stage}: the stage manifest lacks ${name} or references`);
  await mkdir(dir, { recursive: true });
  const tag = `${name}-${version}`.replace(/[^A-Za-z0-9._-]/g, "_");
  const modelFile = `${tag}.onnx`;
  const refsFile = `references-${tag}.safetensors`;
  await writeFileAtomic(join(dir, modelFile), await readFile(entryPath(stage, model)));
  await writeFileAtomic(join(dir, refsFile), await readFile(entryPath(stage, refs)));
  await updateManifest(dir, (manifest) => {
    manifest.models[name] = { ...model, file: modelFile };
    manifest.references = { ...refs, file: refsFile };
    return manifest;
  });
}

async function main() {
  const f = readFlags(SCRIPT, FLAGS);
  const out = resolve(f.out);
  const name = f.name ?? basename(out);
  const folder = folderOptions(f);
  const started = performance.now();
  // The matched set, its evaluation and its stage models folder live apart from the distilled
  // set's (OUT/match), so that adding --match to a finished run does not reuse the unmatched ones.
  const scored = f.match ? join(out, "match") : out;
  const matchedSet = f.match ? join(scored, "references.safetensors") : undefined;
  const stageDir = join(scored, "models");
  // Validate before computing: the outputs are writable, the data loads (and is decoded into its cache).
  await checkWritableOutput(stageDir, { flag: "out", kind: "folder" });
  if (matchedSet && f.match && existsSync(matchedSet)) {
    await checkMatchedLevels(matchedSet, f.match);
  }
  if (f.publish) {
    await checkWritableOutput(f.publish, { flag: "publish", kind: "folder" });
    const publishDir = f.publish;
    if (existsSync(join(publishDir, "manifest.json"))) await input(readManifest(publishDir));
  }
  await mkdir(stageDir, { recursive: true });
  const train = await input(loadDataset(f.data, "train", { folder }));
  const channels = train.channels;
  const count = Math.min(f.limit ?? train.count, train.count);
  const labels = train.labels.subarray(0, count);
  const sizes = train.classes.map((_, c) => labels.filter((l) => l === c).length);
  const thin = sizes.findIndex((n) => n < 2);
  if (f.limit !== undefined && thin >= 0) {
    throw new CliError(
      `--limit ${f.limit} leaves class "${train.classes[thin]}" ${sizes[thin]} training images (the first N are taken, and a folder's are in class order); raise it or leave it out`,
    );
  }
  // Every stage sees the same images: the distillation's preset limit would not fit these fan-ins.
  const limitFlags = ["--limit", String(count)];
  const testLimitFlags = f["test-limit"] ? ["--test-limit", String(f["test-limit"])] : [];
  const fanInList = f["fan-ins"] ?? (await input(() => deriveFanIns(sizes, f.levels)));
  const fanIns = fanInList.join(",");
  const beyond = f.match?.filter((level) => level > fanInList.length) ?? [];
  if (beyond.length) {
    throw new CliError(
      `--match ${f.match?.join(",")}: the distillation has ${fanInList.length} levels, so no level ${beyond.join(", ")}`,
    );
  }
  const test = await input(loadDataset(f.data, "test", { folder: { ...folder, progress: null } }));
  const testCount = Math.min(f["test-limit"] ?? test.count, test.count);
  const preset = PRESETS[f["distill-config"]];
  const shape: [number, number, number] = [train.height, train.width, channels];
  const depth = Number(f.depth) as ResnetDepth;
  const classes = train.classes.length;
  const threadFlags = trainThreadFlags(shape, classes, depth, f.width, f.loss, f.workers);
  const work = pipelineWork({
    input: shape,
    classes,
    trainImages: count,
    testImages: testCount,
    depth,
    width: f.width,
    epochs: f.epochs,
    fanIns: fanInList,
    iterations: preset.iterations,
    dmWidth: preset.width,
    ...(f.match ? { match: { levels: f.match, steps: MATCH_DEFAULTS.steps } } : {}),
  });
  const augment =
    f.augment === "affine" ? ["--augment", "affine", "--jitter", f.jitter.join(",")] : [];
  if ((f.augment === "affine" || f.loss === "arcface") && !f.match) {
    // Measured (docs/RESULTS.md): under such embedders DM's levels 3–5 scored up to 21 points
    // below the matched ones on MNIST and Fashion-MNIST.
    process.stderr.write(
      "pipeline: an embedder trained with --augment affine or --loss arcface maps distilled upper levels off their class; --match 3,4,5 fits them to it (docs/DATA.md)\n",
    );
  }
  const dataFlags = ["--data", f.data];
  for (const key of Object.keys(FOLDER_FLAGS) as (keyof typeof FOLDER_FLAGS)[]) {
    if (f[key] !== undefined) dataFlags.push(`--${key}`, String(f[key]));
  }
  // Measured on colour shapes: DM's MNIST step size 1 wrecks colour references (docs/RESULTS.md).
  const dmLr = f["dm-lr"] !== undefined ? String(f["dm-lr"]) : channels === 3 ? "0.1" : undefined;
  const checkpoint = join(out, "embedder", "checkpoint.safetensors");
  const distilled = join(out, "distill", "references.safetensors");
  // With --match the later stages evaluate, export and publish the matched set.
  const scoredSet = matchedSet ?? distilled;
  const evaluation = join(scored, "evaluation.json");
  const match = f.match?.join(",");
  const matchStage: Stage[] = match
    ? [
        {
          name: `match levels ${match} to the embedder`,
          output: scoredSet,
          weight: work.match,
          run: (view) =>
            runStage(view, "match-references", [
              ...dataFlags,
              ...["--references", distilled, "--embedder", checkpoint, "--levels", match],
              ...["--out", scoredSet, "--progress", "json"],
            ]),
        },
      ]
    : [];
  const stages: Stage[] = [
    {
      name: "train the embedder",
      output: join(out, "embedder", "metrics.json"),
      weight: work.train,
      run: (view) =>
        runStage(view, "train-embedder", [
          ...dataFlags,
          ...["--depth", f.depth, "--width", String(f.width), "--epochs", String(f.epochs)],
          ...["--batch", String(f.batch), "--loss", f.loss, ...augment],
          ...[...limitFlags, ...testLimitFlags, ...threadFlags],
          ...["--out", join(out, "embedder"), "--resume"],
          ...["--progress", "json"],
        ]),
    },
    {
      name: `distil the references (fan-ins ${fanIns})`,
      output: distilled,
      weight: work.distill,
      run: (view) =>
        runStage(view, "distill", [
          ...dataFlags,
          ...["--config", f["distill-config"], "--fan-ins", fanIns, "--workers", String(f.workers)],
          ...(dmLr ? ["--lr", dmLr] : []),
          ...limitFlags,
          ...["--out", distilled, "--resume", "--progress", "json"],
        ]),
    },
    ...matchStage,
    {
      name: "evaluate by angle",
      output: evaluation,
      weight: work.evaluate,
      run: (view) =>
        runStage(view, "evaluate", [
          ...dataFlags,
          ...["--embedder", checkpoint, "--references", scoredSet, "--out", evaluation],
          ...[...limitFlags, ...testLimitFlags, "--progress", "json"],
        ]),
    },
    {
      name: "export ONNX",
      output: join(stageDir, "references.safetensors"),
      weight: work.export,
      run: async (view) => {
        await runStage(view, "export-onnx", [
          ...["--checkpoint", checkpoint, "--out", join(stageDir, `${name}.onnx`)],
          ...["--name", name, "--version", f.version, "--manifest", stageDir],
        ]);
        const level = bestLevel(JSON.parse(await readFile(evaluation, "utf8")));
        await runStage(view, "publish-references", [
          ...["--references", scoredSet, "--models-dir", stageDir, "--embedder", name],
          ...(level ? ["--default-level", String(level)] : []),
          ...["--evaluation", evaluation],
        ]);
      },
    },
  ];
  const publishDir = f.publish;
  if (publishDir) {
    stages.push({
      name: `publish into ${publishDir}`,
      weight: 0,
      run: () => publish(stageDir, publishDir, name, f.version),
    });
  }
  try {
    await runStages(stages, f.progress ?? (process.stderr.isTTY ? "bar" : "lines"), "pipeline");
  } catch (error) {
    if (!(error instanceof StageFailed && error.code === 130)) throw error;
    process.stderr.write("pipeline: interrupted; the same command resumes where it stopped\n");
    process.exit(130);
  }
  const report = JSON.parse(await readFile(evaluation, "utf8"));
  process.stdout.write(
    `${JSON.stringify({
      name,
      out,
      published: f.publish ?? null,
      fanIns,
      matched: f.match ?? null,
      accuracy: report.accuracy,
      classMean: report.classMean?.accuracy ?? null,
      nearestNeighbour: report.nearestNeighbour?.accuracy ?? null,
      minSimilarity: report.minSimilarity ?? null,
      seconds: (performance.now() - started) / 1000,
    })}\n`,
  );
}

runScript("pipeline", main);
