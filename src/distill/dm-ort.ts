// Distribution matching on onnxruntime: the same projected SGD on Eq. 5 as dm.ts, each step one
// run of the DM graph (src/train/ort/dm-graph.ts) whose random ConvNet weights are inputs, so
// one compiled session per embedding serves every subset and iteration.
import { availableParallelism } from "node:os";
import { distillConvNetSpec } from "../nn/convnet.js";
import { type ModelSpec, modelParams } from "../nn/spec.js";
import { initWeightsInto } from "../nn/weights.js";
import { buildDmGraph, type DmGraph, dmGraphUnsupported } from "../train/ort/dm-graph.js";
import { ort } from "../train/ort/engine.js";
import { nchwcBlockSize } from "../train/ort/nchwc-block.js";
import { blockFilter } from "../train/ort/nchwc-forward.js";
import { type DmConfig, initialImages, type SubsetProblem, type SubsetResult } from "./dm.js";
import { subsetSeed } from "./plan.js";

export const DM_ENGINES = ["auto", "tfjs", "ort"] as const;
export type DmEngineChoice = (typeof DM_ENGINES)[number];
export type DmEngine = Exclude<DmEngineChoice, "auto">;

export function dmSpec(config: DmConfig, shape: [number, number, number]): ModelSpec {
  return distillConvNetSpec({
    input: shape,
    width: config.width,
    mean: config.mean,
    std: config.std,
  });
}

/** `auto` takes ort whenever the DM graph can be built for this embedding. */
export function resolveDmEngine(
  choice: DmEngineChoice,
  config: DmConfig,
  shape: [number, number, number],
): { engine: DmEngine; reason?: string } {
  if (choice === "tfjs") return { engine: "tfjs" };
  const reason = dmGraphUnsupported(dmSpec(config, shape));
  if (choice === "ort" && reason)
    throw new Error(`engine ort cannot distil: unsupported ${reason}`);
  return reason ? { engine: "tfjs", reason } : { engine: "ort" };
}

/**
 * Intra-op threads per ORT session: one per worker thread, or every core when the subsets run
 * in-process (workers = 0). See bench/distill-workers.ts for the measured choice.
 */
export function ortThreads(workers: number): number {
  return workers === 0 ? Math.max(1, availableParallelism()) : 1;
}

/** How the script reports the engine it took: "ort (auto, 1 thread per worker)". */
export function engineLine(
  choice: string,
  chosen: { engine: DmEngine; reason?: string },
  threads: number,
): string {
  const why = chosen.reason ? `, ort cannot: ${chosen.reason}` : "";
  const how =
    chosen.engine === "ort"
      ? `, ${threads} intra-op thread${threads === 1 ? "" : "s"} per session`
      : "";
  return `${chosen.engine} (${choice}${why}${how})`;
}

interface CompiledDm {
  graph: DmGraph;
  session: ort.InferenceSession;
}

const sessions = new Map<string, Promise<CompiledDm>>();

async function compiled(
  spec: ModelSpec,
  classes: number,
  config: DmConfig,
  threads: number,
  optimization: GraphOptimization,
  layout: DmLayout,
  realChunks: number,
): Promise<CompiledDm> {
  const repulsion = config.repulsion ?? "eq5";
  const key = JSON.stringify([spec, classes, repulsion, threads, optimization, layout, realChunks]);
  let entry = sessions.get(key);
  if (!entry) {
    entry = (async () => {
      const block = layout === "nchwc" ? await nchwcBlockSize() : undefined;
      const graph = buildDmGraph(spec, classes, repulsion, block, realChunks);
      const session = await ort.InferenceSession.create(graph.bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: optimization,
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      return { graph, session };
    })();
    sessions.set(key, entry);
  }
  return entry;
}

/** Releases the cached sessions (workers call it before exiting; tests between cases). */
export async function releaseDmSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const entry of all) await (await entry).session.release();
}

/**
 * The real images' forward runs in parts of at most this many images, so that each part's
 * activations (8 images × 32 channels × 32 × 32 floats = 1 MiB at width 32) stay in a core's
 * cache: 15–16 instead of 17.6 CPU ms per level-1 iteration (bench/distill-ort-step.ts
 * --real-chunk 1000,16,8, docs/RESULTS.md).
 */
export const REAL_CHUNK = 8;

/** "all" adds onnxruntime's NCHWc layout rewrite (of the pooling here) to "extended". */
export type GraphOptimization = "extended" | "all";

/**
 * "nchwc": the real images' convolutions as onnxruntime's NCHWc kernels, where this CPU has them
 * and the ConvNet's channels allow (else plain); "plain": ONNX's Conv.
 */
export type DmLayout = "nchwc" | "plain";

export interface OrtDmOptions {
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  /** Default "all"; bench/distill-ort-step.ts compares the two. */
  optimization?: GraphOptimization;
  /** Default "nchwc"; bench/distill-ort-step.ts compares the two. */
  layout?: DmLayout;
  /** Real images per forward part (default REAL_CHUNK); bench/distill-ort-step.ts compares. */
  realChunk?: number;
  /** Adds each iteration's milliseconds by phase: weights (JS init), run (ORT), update (SGD). */
  timing?: Record<"weights" | "run" | "update", number>;
}

/** distillSubset (dm.ts) on onnxruntime: the same seeds, networks and update, float rounding apart. */
export async function distillSubsetOrt(
  problem: SubsetProblem,
  config: DmConfig,
  options: OrtDmOptions = {},
): Promise<SubsetResult> {
  const [h, w, c] = problem.shape;
  const spec = dmSpec(config, problem.shape);
  const count = problem.labels.length;
  const chunks = Math.max(1, Math.ceil(count / (options.realChunk ?? REAL_CHUNK)));
  const { graph, session } = await compiled(
    spec,
    problem.classes,
    config,
    options.threads ?? 1,
    options.optimization ?? "all",
    options.layout ?? "nchwc",
    chunks,
  );
  const onehot = new Float32Array(count * problem.classes);
  problem.labels.forEach((label, i) => {
    onehot[i * problem.classes + label] = 1;
  });
  const synthetic = Float32Array.from(problem.init ?? initialImages(problem, config.init));
  const velocity = new Float32Array(synthetic.length);
  const feeds: Record<string, ort.Tensor> = {
    [graph.onehot]: new ort.Tensor("float32", onehot, [count, problem.classes]),
    [graph.synthetic]: new ort.Tensor("float32", synthetic, [problem.classes, h, w, c]),
    [graph.lambda]: new ort.Tensor(
      "float32",
      Float32Array.of(problem.lambda ?? config.lambda),
      [1],
    ),
  };
  // The real images in `chunks` consecutive, near-equal parts (views, no copies).
  const pixels = h * w * c;
  graph.real.forEach((input, i) => {
    const [from, to] = [i, i + 1].map((j) => Math.floor((j * count) / chunks));
    const part = problem.images.subarray(from * pixels, to * pixels);
    feeds[input] = new ort.Tensor("float32", part, [to - from, h, w, c]);
  });
  // Each iteration's fresh network is drawn straight into the weight feeds' arrays.
  const params = modelParams(spec);
  const weightData = params.map((p) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)));
  params.forEach((p, k) => {
    const feed = graph.weights[p.name];
    if (feed) feeds[feed.input] = new ort.Tensor("float32", weightData[k], feed.shape);
  });
  // The same filters again, blocked for the real images' NCHWc convolutions.
  const block = (await nchwcBlockSize()) ?? 1;
  const blocked = params.flatMap((p, k) => {
    const filter = graph.blockedFilters[p.name];
    if (!filter) return [];
    const data = new Float32Array(weightData[k].length);
    feeds[filter.input] = new ort.Tensor("float32", data, filter.shape);
    return [{ from: weightData[k], shape: filter.shape, data }];
  });
  // SGD in the normalised pixel space, as dm.ts: a raw-pixel step of lr·std²·g per channel.
  const lr = problem.lr ?? config.lr;
  const stepScale = Float32Array.from(config.std, (s) => Math.fround(s * s) * lr);
  const timing = options.timing;
  let firstLoss = Number.NaN;
  let lastLoss = Number.NaN;
  for (let t = 0; t < config.iterations; t++) {
    let mark = performance.now();
    const lap = (phase: "weights" | "run" | "update") => {
      if (!timing) return;
      const now = performance.now();
      timing[phase] += now - mark;
      mark = now;
    };
    initWeightsInto(params, subsetSeed(problem.seed, 1, t), weightData);
    for (const b of blocked) blockFilter(b.from, b.shape, block, b.data);
    lap("weights");
    const out = await session.run(feeds);
    lap("run");
    const loss = (out[graph.loss].data as Float32Array)[0];
    const grad = out[graph.grad].data as Float32Array;
    if (t === 0) firstLoss = loss;
    if (t === config.iterations - 1) lastLoss = loss;
    for (let i = 0; i < synthetic.length; i++) {
      const v = Math.fround(velocity[i] * config.momentum + grad[i]);
      velocity[i] = v;
      const y = synthetic[i] - v * stepScale[i % c];
      synthetic[i] = Math.min(1, Math.max(0, y));
    }
    lap("update");
  }
  return { images: synthetic, firstLoss, lastLoss };
}
