// One command from a labelled data set to a served model: train the embedder, distil the
// references (fan-ins from the class sizes), evaluate by angle with the class-mean and 1-NN
// baselines, export ONNX with a stage manifest, and with --publish swap model and references
// into a service's models directory in one manifest write. Each stage resumes or is skipped
// when its output exists.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { loadDataset } from "../src/data/dataset.js";
import { FOLDER_FLAGS, FOLDER_USAGE, folderOptions } from "../src/data/folder-flags.js";
import { deriveFanIns } from "../src/distill/fan-ins.js";
import { entryPath, readManifest, updateManifest } from "../src/models/manifest.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { scriptFlags } from "../src/util/cli.js";

const flags = scriptFlags("pipeline");
const fail: (message: string) => never = flags.fail;

const USAGE = `usage: pipeline.ts --data folder:DIR|idx:DIR|fashion|mnist|cifar10 --out runs/NAME [--publish models]
  [--name NAME] [--version V] [--depth 18|50] [--width 8] [--epochs 5] [--batch 64] [--workers 1]
  [--levels 5] [--fan-ins F1,...] [--distill-config quick|cpu|paper] [--dm-lr X]
${FOLDER_USAGE}
  Stages (each skipped when its output exists, training and distillation resume): train the
  embedder, distil the references, evaluate by angle, export ONNX into OUT/models; --publish DIR
  then copies both into DIR and swaps them in with one manifest write (a running service reloads).`;

function parseFlags() {
  return flags.parse({
    data: { type: "string" },
    out: { type: "string" },
    publish: { type: "string" },
    name: { type: "string" },
    version: { type: "string", default: "1" },
    depth: { type: "string", default: "18" },
    width: { type: "string", default: "8" },
    epochs: { type: "string", default: "5" },
    batch: { type: "string", default: "64" },
    workers: { type: "string", default: "1" },
    levels: { type: "string", default: "5" },
    "fan-ins": { type: "string" },
    "distill-config": { type: "string", default: "cpu" },
    "dm-lr": { type: "string" },
    help: { type: "boolean", default: false },
    ...FOLDER_FLAGS,
  });
}

/** Runs one of the project's scripts with the user's terminal for its progress. */
function runScript(name: string, args: string[]): Promise<void> {
  return new Promise((ok, failed) => {
    const child = execFile(process.execPath, ["--import", "tsx", `scripts/${name}.ts`, ...args], {
      maxBuffer: 64 << 20,
    });
    child.stderr?.pipe(process.stderr);
    child.on("exit", (code) =>
      code === 0 ? ok() : failed(new Error(`${name} exited with code ${code}`)),
    );
  });
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
  const f = parseFlags();
  if (f.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!f.data) fail("--data is required (see --help)");
  if (!f.out) fail("--out is required (see --help)");
  const out = resolve(f.out);
  const name = f.name ?? basename(out);
  const levels = flags.number("levels", f.levels, true, 1);
  if (!["quick", "cpu", "paper"].includes(f["distill-config"])) {
    fail(`--distill-config must be quick, cpu or paper, got "${f["distill-config"]}"`);
  }
  const folder = folderOptions(f, fail);
  const started = performance.now();
  // Validate before computing: the data loads (and is decoded into its cache), the outputs are writable.
  let fanIns: string;
  let channels: number;
  try {
    await mkdir(join(out, "models"), { recursive: true });
    if (f.publish) await mkdir(f.publish, { recursive: true });
    if (f.publish && existsSync(join(f.publish, "manifest.json"))) await readManifest(f.publish);
    const train = await loadDataset(f.data, "train", { folder });
    channels = train.channels;
    const sizes = train.classes.map((_, c) => train.labels.filter((l) => l === c).length);
    fanIns = f["fan-ins"] ?? deriveFanIns(sizes, levels).join(",");
  } catch (error) {
    fail((error as Error).message.split("\n")[0]);
  }
  const dataFlags = ["--data", f.data];
  for (const key of Object.keys(FOLDER_FLAGS) as (keyof typeof FOLDER_FLAGS)[]) {
    if (f[key] !== undefined) dataFlags.push(`--${key}`, f[key] as string);
  }
  // Measured on colour shapes: DM's MNIST step size 1 wrecks colour references (docs/RESULTS.md).
  const dmLr = f["dm-lr"] ?? (channels === 3 ? "0.1" : undefined);
  const checkpoint = join(out, "embedder", "checkpoint.safetensors");
  const references = join(out, "distill", "references.safetensors");
  const evaluation = join(out, "evaluation.json");
  const stageDir = join(out, "models");
  const stages: [string, string, () => Promise<void>][] = [
    [
      "train the embedder",
      join(out, "embedder", "metrics.json"),
      () =>
        runScript("train-embedder", [
          ...dataFlags,
          ...["--depth", f.depth, "--width", f.width, "--epochs", f.epochs, "--batch", f.batch],
          ...["--workers", f.workers, "--out", join(out, "embedder"), "--resume"],
          ...["--progress", "lines"],
        ]),
    ],
    [
      `distil the references (fan-ins ${fanIns})`,
      references,
      () =>
        runScript("distill", [
          ...dataFlags,
          ...["--config", f["distill-config"], "--fan-ins", fanIns, "--workers", f.workers],
          ...(dmLr ? ["--lr", dmLr] : []),
          ...["--out", references, "--resume"],
        ]),
    ],
    [
      "evaluate by angle",
      evaluation,
      () =>
        runScript("evaluate", [
          ...dataFlags,
          ...["--embedder", checkpoint, "--references", references, "--out", evaluation],
        ]),
    ],
    [
      "export ONNX",
      join(stageDir, "references.safetensors"),
      async () => {
        await runScript("export-onnx", [
          ...["--checkpoint", checkpoint, "--out", join(stageDir, `${name}.onnx`)],
          ...["--name", name, "--version", f.version, "--manifest", stageDir],
        ]);
        const level = bestLevel(JSON.parse(await readFile(evaluation, "utf8")));
        await runScript("publish-references", [
          ...["--references", references, "--models-dir", stageDir, "--embedder", name],
          ...(level ? ["--default-level", String(level)] : []),
          ...["--evaluation", evaluation],
        ]);
      },
    ],
  ];
  for (const [i, [what, output, run]] of stages.entries()) {
    const t = performance.now();
    if (existsSync(output)) {
      process.stderr.write(`pipeline [${i + 1}/${stages.length}] ${what}: done (${output})\n`);
      continue;
    }
    process.stderr.write(`pipeline [${i + 1}/${stages.length}] ${what}…\n`);
    await run();
    process.stderr.write(
      `pipeline [${i + 1}/${stages.length}] ${what}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
    );
  }
  if (f.publish) await publish(stageDir, f.publish, name, f.version);
  const report = JSON.parse(await readFile(evaluation, "utf8"));
  process.stdout.write(
    `${JSON.stringify({
      name,
      out,
      published: f.publish ?? null,
      fanIns,
      accuracy: report.accuracy,
      classMean: report.classMean?.accuracy ?? null,
      nearestNeighbour: report.nearestNeighbour?.accuracy ?? null,
      minSimilarity: report.minSimilarity ?? null,
      seconds: (performance.now() - started) / 1000,
    })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`pipeline: ${error.message.split("\n")[0]}\n`);
  process.exit(1);
});
