// A GradientEngine on onnxruntime-node: the training step's forward + backward graph (see
// grad-graph.ts) in one InferenceSession whose intra-op threads replace worker threads.
import "../../util/ort-telemetry.js";
import * as ort from "onnxruntime-node";
import type { Weights } from "../../nn/weights.js";
import type { GradientEngine } from "../engine.js";
import type { Batch, BatchStats, StepModel, StepResult } from "../step.js";
import { buildGradGraph, type GradGraph, type GradGraphOptions } from "./grad-graph.js";
import { BlockedFilterFeeds } from "./nchwc-filters.js";
import { nchwcProbeModel } from "./nchwc-ops.js";

/**
 * onnxruntime itself, for the other training-side graphs (the distillation step): imported here,
 * after the telemetry switch, so that no other training module imports it.
 */
export { ort };

let probedBlock: Promise<number | undefined> | undefined;

/**
 * onnxruntime's NCHWc block size on this CPU (probed once per process), or undefined where it
 * has no NCHWc kernels (or refuses them). The probe's session opens with `options`: when it is
 * the process's first session, onnxruntime takes the denormal flush from it (see flushDenormals).
 */
export function nchwcBlockSize(
  options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1 },
): Promise<number | undefined> {
  probedBlock ??= probeBlockSize(options);
  return probedBlock;
}

async function probeBlockSize(
  options: ort.InferenceSession.SessionOptions,
): Promise<number | undefined> {
  const { bytes, output } = nchwcProbeModel();
  try {
    const session = await ort.InferenceSession.create(bytes, {
      ...options,
      enableProfiling: false,
    });
    try {
      const out = await session.run({
        x: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]),
      });
      const block = Number(out[output].dims[1]);
      return block > 1 ? block : undefined;
    } finally {
      await session.release();
    }
  } catch {
    return undefined;
  }
}

export interface OrtEngineOptions extends GradGraphOptions {
  /**
   * "nchwc" (default): the convs whose channels are whole blocks run on onnxruntime's NCHWc
   * kernels where this CPU has them (nchwc-train.ts); "plain": every conv is plain ONNX.
   */
  layout?: "plain" | "nchwc";
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  /**
   * Let idle intra-op threads spin (onnxruntime's default). Off by default: on the loaded
   * 2-core machine, 2 spinning threads trained mnist7 at about 0.65× the speed of 2 idle ones.
   */
  spin?: boolean;
  /**
   * Flush denormal floats to zero (default on): confident softmax gradients go denormal, and
   * the order-4 direct Taylor step slowed from 0.23 s to 1.9 s within 10 steps without it.
   * onnxruntime applies it to the calling thread once, from the first session of the process.
   */
  flushDenormals?: boolean;
  /** Turn on onnxruntime's profiler; its JSON goes to a file starting with this path (benches). */
  profilePrefix?: string;
  /** Session options over the defaults below (bench/train-ort-step.ts compares them). */
  session?: ort.InferenceSession.SessionOptions;
  /** Accumulates where compute() spends its time (bench/train-ort-step.ts reads it). */
  timing?: OrtStepTiming;
}

/** Milliseconds summed over compute() calls: building the feeds, session.run, reading the outputs. */
export interface OrtStepTiming {
  feedsMs: number;
  runMs: number;
  outputsMs: number;
}

/** The session options of the training step (the step profiler opens its session with these too). */
export function trainingSessionOptions(
  options: Pick<
    OrtEngineOptions,
    "threads" | "spin" | "session" | "flushDenormals" | "profilePrefix"
  >,
): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: Math.max(1, options.threads ?? 1),
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    ...(options.profilePrefix
      ? { enableProfiling: true, profileFilePrefix: options.profilePrefix }
      : {}),
    extra: {
      session: {
        set_denormal_as_zero: options.flushDenormals === false ? "0" : "1",
        ...(options.spin ? {} : { intra_op: { allow_spinning: "0" } }),
      },
    },
    ...options.session,
  };
}

function floatData(tensor: ort.Tensor | undefined, what: string): Float32Array {
  const data = tensor?.data;
  if (!(data instanceof Float32Array)) throw new Error(`ORT training: ${what} is not float32`);
  return data;
}

export class OrtGradients implements GradientEngine {
  private constructor(
    private readonly model: StepModel,
    private readonly graph: GradGraph,
    private readonly blocked: BlockedFilterFeeds,
    private readonly session: ort.InferenceSession,
    readonly workers: number,
    private readonly timing?: OrtStepTiming,
  ) {}

  static async create(model: StepModel, options: OrtEngineOptions = {}): Promise<OrtGradients> {
    if (model.head && !model.head.form) {
      throw new Error("ORT training: the head gives no form (only the linear and ArcFace heads)");
    }
    const sessionOptions = trainingSessionOptions(options);
    // The probe opens with the step's options, so that the denormal flush holds if it is first.
    const nchwcBlock =
      options.layout === "plain"
        ? undefined
        : (options.nchwcBlock ?? (await nchwcBlockSize(sessionOptions)));
    const graph = buildGradGraph(model.spec, model.classes, model.trainable, {
      ...options,
      head: model.head?.form,
      nchwcBlock,
    });
    const threads = Math.max(1, options.threads ?? 1);
    const session = await ort.InferenceSession.create(graph.bytes, sessionOptions);
    const blocked = new BlockedFilterFeeds(graph.blocked, nchwcBlock ?? 1);
    return new OrtGradients(model, graph, blocked, session, threads, options.timing);
  }

  /** How many filters each step feeds blocked for the NCHWc kernels (0: a plain graph). */
  get blockedFilters(): number {
    return this.graph.blocked.length;
  }

  async compute(weights: Weights, batch: Batch): Promise<StepResult> {
    const { spec, classes } = this.model;
    const n = batch.count;
    const t0 = performance.now();
    const oneHot = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) oneHot[i * classes + batch.labels[i]] = 1;
    const feeds: Record<string, ort.Tensor> = {
      [this.graph.images]: new ort.Tensor("float32", batch.images, [n, ...spec.input]),
      [this.graph.labels]: new ort.Tensor("float32", oneHot, [n, classes]),
    };
    for (const [name, { input, shape }] of Object.entries(this.graph.weights)) {
      const w = weights[name];
      if (!w) throw new Error(`ORT training: missing weight ${name}`);
      feeds[input] = new ort.Tensor("float32", w.data, shape);
    }
    const blocked = this.blocked.fill(weights);
    this.graph.blocked.forEach((b, i) => {
      feeds[b.input] = new ort.Tensor("float32", blocked[i], b.shape);
    });
    const t1 = performance.now();
    const out = await this.session.run(feeds);
    const t2 = performance.now();
    const logits = floatData(out[this.graph.logits], "logits");
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < classes; j++) {
        if (logits[i * classes + j] > logits[i * classes + best]) best = j;
      }
      if (best === batch.labels[i]) correct++;
    }
    const grads: Record<string, Float32Array> = {};
    for (const [name, output] of Object.entries(this.graph.grads)) {
      grads[name] = floatData(out[output], `gradient ${name}`);
    }
    const batchStats: Record<string, BatchStats> = {};
    for (const [path, s] of Object.entries(this.graph.stats)) {
      batchStats[path] = {
        mean: floatData(out[s.mean], `${path} mean`),
        variance: floatData(out[s.variance], `${path} variance`),
      };
    }
    const loss = floatData(out[this.graph.loss], "loss")[0];
    if (this.timing) {
      this.timing.feedsMs += t1 - t0;
      this.timing.runMs += t2 - t1;
      this.timing.outputsMs += performance.now() - t2;
    }
    return { loss, correct, count: n, grads, batchStats };
  }

  /** Ends onnxruntime's profiling (see profilePrefix), which writes its JSON file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
