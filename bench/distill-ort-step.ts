// Where one DM iteration's time goes on onnxruntime: a level-1 MNIST subset of the cpu preset
// distilled with per-phase timing (random weights in JS, session.run, the SGD update in JS) per
// intra-op thread count and real-image conv layout (NCHWc or plain), and optionally onnxruntime's per-op-type profile: JSON lines.
import { readFile, rm } from "node:fs/promises";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { distillSubsetOrt, dmSpec, REAL_CHUNK, releaseDmSessions } from "../src/distill/dm-ort.js";
import { DM_DEFAULTS } from "../src/distill/presets.js";
import { initWeights } from "../src/nn/weights.js";
import { buildDmGraph } from "../src/train/ort/dm-graph.js";
import { ort } from "../src/train/ort/engine.js";
import { nchwcBlockSize } from "../src/train/ort/nchwc-block.js";
import { blockFilter } from "../src/train/ort/nchwc-forward.js";
import { boolean, choice, int, list, readFlagsOrExit } from "../src/util/flags.js";
import { firstMnistSubset } from "./mnist-subset.js";

const values = readFlagsOrExit(
  "bench/distill-ort-step",
  {
    usage:
      "tsx bench/distill-ort-step.ts [--threads 1,2] [--layout nchwc,plain] [--iterations 60] [--width 32] [--profile]",
    summary:
      "One distribution-matching iteration on onnxruntime, timed by phase, per thread count and real-image conv layout (JSON lines); --profile lists ORT's time by op type and the slowest nodes (first layout).",
  },
  {
    threads: list({ kind: "int", min: 1 }, "intra-op thread counts, one line each", {
      default: [1, 2],
    }),
    iterations: int("iterations timed", { default: 60, min: 1 }),
    width: int("ConvNet width", { default: 32, min: 1 }),
    profile: boolean("profile ORT by op type"),
    optimization: choice(["extended", "all"], "graph optimisation level", {
      default: "all",
    }),
    "real-chunk": list({ kind: "int", min: 1 }, "real images per forward part, one line each", {
      default: [REAL_CHUNK],
    }),
    layout: list(
      { kind: "choice", choices: ["nchwc", "plain"] as const },
      "real images' conv layouts, one line each",
      {
        default: ["nchwc"],
      },
    ),
  },
);
const { iterations, width } = values;
const threadCounts = values.threads;
const problem = await firstMnistSubset();
const { images, labels } = problem;
const { optimization } = values;
const config = { iterations, width, ...DM_DEFAULTS, ...MNIST_NORMALIZATION };
const block = await nchwcBlockSize();
const variants = threadCounts.flatMap((threads) =>
  values.layout.flatMap((layout) =>
    values["real-chunk"].map((realChunk) => ({ threads, optimization, layout, realChunk })),
  ),
);
for (const options of variants) {
  const { threads, layout, realChunk } = options;
  await distillSubsetOrt(problem, { ...config, iterations: 2 }, options);
  const timing = { weights: 0, run: 0, update: 0 };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await distillSubsetOrt(problem, config, { ...options, timing });
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const per = (ms: number) => +(ms / iterations).toFixed(2);
  process.stdout.write(
    `${JSON.stringify({
      bench: "distill-ort-iteration",
      threads,
      optimization,
      layout,
      realChunk,
      nchwcBlock: block ?? null,
      width,
      iterations,
      realImages: labels.length,
      msPerIteration: per(wall),
      cpuMsPerIteration: per((used.user + used.system) / 1000),
      weightsMs: per(timing.weights),
      runMs: per(timing.run),
      updateMs: per(timing.update),
      otherMs: per(wall - timing.weights - timing.run - timing.update),
    })}\n`,
  );
}
await releaseDmSessions();

if (values.profile) {
  // One session with onnxruntime's profiler on: total node time per op type over `iterations` runs.
  const spec = dmSpec(config, problem.shape);
  const layout = values.layout[0];
  const graph = buildDmGraph(spec, 10, "eq5", layout === "nchwc" ? block : undefined);
  const session = await ort.InferenceSession.create(graph.bytes, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: optimization,
    enableProfiling: true,
    profileFilePrefix: "/tmp/cgnn-dm-profile",
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  const onehot = new Float32Array(labels.length * 10);
  labels.forEach((l, i) => {
    onehot[i * 10 + l] = 1;
  });
  const feeds: Record<string, ort.Tensor> = {
    [graph.real[0]]: new ort.Tensor("float32", images, [labels.length, 28, 28, 1]),
    [graph.onehot]: new ort.Tensor("float32", onehot, [labels.length, 10]),
    [graph.synthetic]: new ort.Tensor("float32", images.slice(0, 7840), [10, 28, 28, 1]),
    [graph.lambda]: new ort.Tensor("float32", Float32Array.of(19), [1]),
  };
  const weights = initWeights(spec, 1);
  for (const [name, { input, shape }] of Object.entries(graph.weights)) {
    feeds[input] = new ort.Tensor("float32", weights[name].data, shape);
  }
  for (const [name, { input, shape }] of Object.entries(graph.blockedFilters)) {
    const data = new Float32Array(weights[name].data.length);
    blockFilter(weights[name].data, shape, block ?? 1, data);
    feeds[input] = new ort.Tensor("float32", data, shape);
  }
  for (let t = 0; t < iterations; t++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const { readdir } = await import("node:fs/promises");
  const file = (await readdir("/tmp"))
    .filter((f) => f.startsWith("cgnn-dm-profile"))
    .sort()
    .at(-1);
  if (file) {
    const events = JSON.parse(await readFile(`/tmp/${file}`, "utf8")) as {
      cat: string;
      name: string;
      dur: number;
      args?: { op_name?: string };
    }[];
    await rm(`/tmp/${file}`);
    const byOp = new Map<string, { us: number; nodes: number }>();
    const byNode = new Map<string, number>();
    let total = 0;
    for (const e of events) {
      if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
      const op = e.args?.op_name ?? "?";
      byNode.set(e.name, (byNode.get(e.name) ?? 0) + e.dur);
      const entry = byOp.get(op) ?? { us: 0, nodes: 0 };
      entry.us += e.dur;
      entry.nodes++;
      byOp.set(op, entry);
      total += e.dur;
    }
    const ops = [...byOp.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .map(([op, e]) => ({
        op,
        msPerRun: +(e.us / 1000 / iterations).toFixed(3),
        share: +(e.us / total).toFixed(3),
        kernelsPerRun: e.nodes / iterations,
      }));
    const nodes = [...byNode.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([node, us]) => ({
        node: node.replace(/_kernel_time$/, ""),
        msPerRun: +(us / 1000 / iterations).toFixed(3),
      }));
    process.stdout.write(
      `${JSON.stringify({ bench: "distill-ort-profile", topNodes: nodes, threads: 1, optimization, layout, width, msPerRunInKernels: +(total / 1000 / iterations).toFixed(2), ops })}\n`,
    );
  }
}
