// Where one ORT training step's time goes: the trainer's phases timed in JS (batch assembly,
// feeds, session.run, reading outputs, Adam, moving statistics) and, with --profile,
// onnxruntime's own profile of session.run by op type, by node role and its slowest nodes.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelParams } from "../src/nn/spec.js";
import { initWeights } from "../src/nn/weights.js";
import { makeBatch } from "../src/train/batches.js";
import { batchNormSites, updateMovingStats } from "../src/train/moving-stats.js";
import { Optimizer } from "../src/train/optimizer.js";
import { CONV_WEIGHT_GRADS } from "../src/train/ort/conv-kernel-grad.js";
import {
  type OrtEngineOptions,
  OrtGradients,
  type OrtStepTiming,
  ort,
  trainingSessionOptions,
} from "../src/train/ort/engine.js";
import { buildGradGraph } from "../src/train/ort/grad-graph.js";
import { nchwcBlockSize } from "../src/train/ort/nchwc-block.js";
import { BlockedFilterFeeds } from "../src/train/ort/nchwc-filters.js";
import { epochOrder } from "../src/train/seeding.js";
import type { StepModel } from "../src/train/step.js";
import { runScript } from "../src/util/cli.js";
import { boolean, choice, int, list, readFlags } from "../src/util/flags.js";
import { MODELS } from "./models.js";
import { syntheticData } from "./synthetic-data.js";

const FLAGS = {
  model: list({ kind: "choice", choices: Object.keys(MODELS) }, "models, one line each", {
    default: ["resnet18-w16"],
  }),
  threads: list({ kind: "int", min: 1, max: 16 }, "intra-op thread counts", { default: [1, 2] }),
  batch: int("batch size", { default: 128, min: 1 }),
  steps: int("timed steps (after one warm-up step)", { default: 5, min: 1 }),
  profile: boolean("also profile session.run with onnxruntime's profiler"),
  "conv-weight-grad": choice(
    CONV_WEIGHT_GRADS,
    "how conv kernel gradients are built (default: the engine's)",
  ),
  optimization: choice(
    ["basic", "extended", "all"] as const,
    "graph optimisation level (default all)",
  ),
  layout: list(
    { kind: "choice", choices: ["plain", "nchwc"] },
    "conv layouts, alternated per thread count (nchwc: onnxruntime's blocked kernels)",
    { default: ["nchwc"] },
  ),
  "no-arena": boolean("turn onnxruntime's CPU memory arena off"),
  top: int("slowest nodes listed with --profile", { default: 15, min: 1 }),
};

const SCRIPT = {
  usage:
    "tsx bench/train-ort-step.ts [--model resnet18-w16] [--threads 1,2] [--batch 128] [--profile]",
  summary:
    "One ORT training step's time by phase (JSON line per model and thread count); --profile adds onnxruntime's time by op type, node role and node.",
};

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/** A node's role: its name without the layer path and the uniquifying suffix ("3.body.0.out_2" → "out"). */
function role(node: string): string {
  return node
    .replace(/_kernel_time$/, "")
    .replace(/_\d+$/, "")
    .replace(/^(\d+\.|body\.|shortcut\.)+/, "");
}

function ranked(totals: Map<string, number>, runs: number, total: number, limit = Infinity) {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, us]) => ({
      key,
      msPerRun: +(us / 1000 / runs).toFixed(2),
      share: +(us / total).toFixed(3),
    }));
}

/** session.run `runs` times with the profiler on; time summed by op type, role and node. */
async function profile(
  model: StepModel,
  options: OrtEngineOptions,
  batch: number,
  runs: number,
  top: number,
) {
  const threads = options.threads ?? 1;
  const block = options.layout === "plain" ? undefined : await nchwcBlockSize();
  const graph = buildGradGraph(model.spec, model.classes, model.trainable, {
    ...options,
    nchwcBlock: block,
  });
  const dir = await mkdtemp(join(tmpdir(), "cgnn-step-profile-"));
  const session = await ort.InferenceSession.create(graph.bytes, {
    ...trainingSessionOptions(options),
    enableProfiling: true,
    profileFilePrefix: join(dir, "p"),
  });
  const weights = initWeights(model.spec, 1);
  const [h, w, c] = model.spec.input;
  const feeds: Record<string, ort.Tensor> = {
    [graph.images]: new ort.Tensor("float32", new Float32Array(batch * h * w * c).fill(0.5), [
      batch,
      h,
      w,
      c,
    ]),
    [graph.labels]: new ort.Tensor("float32", new Float32Array(batch * model.classes), [
      batch,
      model.classes,
    ]),
  };
  for (const [name, { input, shape }] of Object.entries(graph.weights)) {
    feeds[input] = new ort.Tensor("float32", weights[name].data, shape);
  }
  const blocked = new BlockedFilterFeeds(graph.blocked, block ?? 1).fill(weights);
  graph.blocked.forEach((b, i) => {
    feeds[b.input] = new ort.Tensor("float32", blocked[i], b.shape);
  });
  await session.run(feeds);
  for (let i = 0; i < runs; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = (await readdir(dir)).find((f) => f.endsWith(".json"));
  if (!file) throw new Error("onnxruntime wrote no profile");
  const events = JSON.parse(await readFile(join(dir, file), "utf8")) as ProfileEvent[];
  await rm(dir, { recursive: true });
  const runEvents = events.filter((e) => e.cat === "Session" && e.name === "model_run");
  const measured = runEvents.slice(1);
  const runUs = measured.reduce((s, e) => s + e.dur, 0);
  // Node events of the timed runs only: skip as many as the warm-up run produced.
  const nodes = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
  const perRun = nodes.length / (runs + 1);
  const timed = nodes.slice(perRun);
  const byOp = new Map<string, number>();
  const byRole = new Map<string, number>();
  const byNode = new Map<string, number>();
  let total = 0;
  for (const e of timed) {
    const op = e.args?.op_name ?? "?";
    const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + e.dur);
    add(byOp, op);
    add(byRole, `${op} ${role(e.name)}`);
    add(byNode, `${op} ${e.name.replace(/_kernel_time$/, "")}`);
    total += e.dur;
  }
  return {
    bench: "train-ort-profile",
    model: model.spec.name,
    threads,
    batch,
    runs,
    kernelsPerRun: perRun,
    msPerRun: +(runUs / 1000 / runs).toFixed(1),
    msInKernelsPerRun: +(total / 1000 / runs).toFixed(1),
    ops: ranked(byOp, runs, total),
    roles: ranked(byRole, runs, total, 25),
    topNodes: ranked(byNode, runs, total, top),
  };
}

runScript("bench/train-ort-step", async () => {
  const v = readFlags(SCRIPT, FLAGS);
  for (const name of v.model) {
    const spec = await MODELS[name]();
    const model: StepModel = {
      spec,
      classes: 10,
      trainable: modelParams(spec)
        .filter((p) => p.trainable)
        .map((p) => p.name),
    };
    const source = {
      data: syntheticData(spec, v.batch * (v.steps + 1)),
      input: spec.input,
      batchSize: v.batch,
      seed: 1,
    };
    for (const threads of v.threads)
      for (const layout of v.layout) {
        const timing: OrtStepTiming = { feedsMs: 0, runMs: 0, outputsMs: 0 };
        const session = {
          ...(v.optimization ? { graphOptimizationLevel: v.optimization } : {}),
          ...(v["no-arena"] ? { enableCpuMemArena: false } : {}),
        };
        const options: OrtEngineOptions = {
          threads,
          layout: layout as "plain" | "nchwc",
          convWeightGrad: v["conv-weight-grad"],
          session,
        };
        const engine = await OrtGradients.create(model, { ...options, timing });
        const weights = initWeights(spec, 1);
        const optimizer = new Optimizer({ kind: "adam", momentum: 0, weightDecay: 0 });
        const refs = model.trainable.map((n) => ({
          name: n,
          data: weights[n].data,
          rank: weights[n].shape.length,
        }));
        const sites = batchNormSites(spec.layers, spec.input);
        const order = epochOrder(source.data.count, 1, 0);
        const phases = { batchMs: 0, optimizerMs: 0, movingStatsMs: 0 };
        let wall = 0;
        let cpu = process.cpuUsage();
        for (let step = 0; step <= v.steps; step++) {
          if (step === 1) {
            // Step 0 warms the session up; the rest are timed.
            Object.assign(timing, { feedsMs: 0, runMs: 0, outputsMs: 0 });
            Object.assign(phases, { batchMs: 0, optimizerMs: 0, movingStatsMs: 0 });
            wall = 0;
            cpu = process.cpuUsage();
          }
          const t0 = performance.now();
          const batch = makeBatch(source, order, 0, step);
          const t1 = performance.now();
          const result = await engine.compute(weights, batch);
          const t2 = performance.now();
          optimizer.apply(refs, result.grads, 1e-3);
          const t3 = performance.now();
          updateMovingStats(weights, sites, result.batchStats, batch.count);
          const t4 = performance.now();
          phases.batchMs += t1 - t0;
          phases.optimizerMs += t3 - t2;
          phases.movingStatsMs += t4 - t3;
          wall += t4 - t0;
        }
        const used = process.cpuUsage(cpu);
        const blockedFilters = engine.blockedFilters;
        await engine.close();
        const per = (ms: number) => +(ms / v.steps).toFixed(2);
        const line = {
          bench: "train-ort-step",
          model: name,
          threads,
          layout,
          blockedFilters,
          ...session,
          ...(options.convWeightGrad ? { convWeightGrad: options.convWeightGrad } : {}),
          batch: v.batch,
          steps: v.steps,
          imagesPerSec: +((v.batch * v.steps * 1000) / wall).toFixed(1),
          msPerStep: per(wall),
          // CPU time of the whole process: on the shared box, less sensitive to the load than wall time.
          cpuMsPerStep: per((used.user + used.system) / 1000),
          batchMs: per(phases.batchMs),
          feedsMs: per(timing.feedsMs),
          runMs: per(timing.runMs),
          outputsMs: per(timing.outputsMs),
          optimizerMs: per(phases.optimizerMs),
          movingStatsMs: per(phases.movingStatsMs),
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
        if (v.profile) {
          const report = await profile(model, options, v.batch, v.steps, v.top);
          process.stdout.write(`${JSON.stringify({ ...report, model: name, layout })}\n`);
        }
      }
  }
});
