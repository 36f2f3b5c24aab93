// Training throughput: one JSON line per (model, backend, workers, batch) case with images/s
// and GFLOP/s (forward + both gradients counted analytically from the spec).
// tfjs cases run --workers worker threads; ort cases one session with --threads intra-op threads.
import type { Dataset } from "../src/data/dataset.js";
import { BACKENDS, initBackend } from "../src/nn/backend.js";
import { setStockGradients } from "../src/nn/kernels/register.js";
import {
  cgTerms,
  inferShapes,
  type LayerSpec,
  type ModelSpec,
  type Shape,
} from "../src/nn/spec.js";
import type { TrainingEngineKind as EngineKind } from "../src/train/engine.js";
import { ortUnsupported } from "../src/train/ort/grad-graph.js";
import { train } from "../src/train/trainer.js";
import { runScript } from "../src/util/cli.js";
import { boolean, choice, int, list, readFlags } from "../src/util/flags.js";
import { rng } from "../src/util/random.js";

type SpecFactory = () => Promise<ModelSpec>;

/** A 28×28 MNIST ResNet with a 10-class linear head on the embedding, as train-embedder's cross-entropy head trains. */
async function resnetWithLinearHead(depth: 18 | 50, width: number): Promise<ModelSpec> {
  const embedder = (await import("../src/nn/resnet.js")).resnetSpec({
    depth,
    width,
    input: [28, 28, 1],
    mean: [0.1307],
    std: [0.3081],
  });
  return {
    ...embedder,
    output: "logits",
    layers: [...embedder.layers, { kind: "dense", units: 10 }],
  };
}

/** Benchmark models by name; add entries here (TaylorNet/ResNet specs are imported lazily). */
export const MODELS: Record<string, SpecFactory> = {
  conv64: async () => ({
    name: "conv64",
    input: [28, 28, 64],
    output: "logits",
    layers: [
      { kind: "conv2d", filters: 64, kernel: 3, padding: "same" },
      { kind: "relu" },
      { kind: "conv2d", filters: 64, kernel: 3, padding: "same" },
      { kind: "relu" },
      { kind: "globalAvgPool" },
      { kind: "dense", units: 10 },
    ],
  }),
  mnist7: async () => (await import("../src/nn/taylornet.js")).taylorNetSpec("mnist7"),
  mnist28: async () => (await import("../src/nn/taylornet.js")).taylorNetSpec("mnist28"),
  "taylor-direct4": async () => (await import("../src/nn/taylor-direct.js")).taylorDirectSpec(4),
  "resnet18-w16": () => resnetWithLinearHead(18, 16),
  "resnet50-w8": () => resnetWithLinearHead(50, 8),
  "resnet50-w16": () => resnetWithLinearHead(50, 16),
};

/** Forward multiply-adds ×2 of the weighted layers, per image, in list order. */
function layerFlops(layers: LayerSpec[], input: Shape): number[] {
  const shapes = inferShapes(layers, input);
  const out: number[] = [];
  layers.forEach((layer, i) => {
    const before = i === 0 ? input : shapes[i - 1];
    const after = shapes[i];
    const pixels = after.length === 3 ? after[0] * after[1] : 1;
    const cin = before.at(-1) ?? 1;
    if (layer.kind === "conv2d") out.push(2 * pixels * layer.kernel ** 2 * cin * layer.filters);
    if (layer.kind === "cg") {
      const width = cgTerms(layer) * (layer.shared ? 1 : cin);
      out.push(2 * pixels * width * layer.filters);
    }
    if (layer.kind === "dense") out.push(2 * before.reduce((a, b) => a * b, 1) * layer.units);
    if (layer.kind === "residual") {
      out.push(...layerFlops(layer.body, before), ...layerFlops(layer.shortcut, before));
    }
  });
  return out;
}

/** Training FLOPs per image: forward + weight gradient for every weighted layer, plus the input gradient for all but the first. */
export function trainingFlopsPerImage(spec: ModelSpec): number {
  const f = layerFlops(spec.layers, spec.input);
  return f.reduce((s, x, i) => s + (i === 0 ? 2 * x : 3 * x), 0);
}

function synthetic(spec: ModelSpec, count: number): Dataset {
  const [height, width, channels] = spec.input;
  const random = rng(1);
  const images = Float32Array.from({ length: count * height * width * channels }, random);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  return { name: "synthetic", images, labels, count, height, width, channels, classes };
}

const FLAGS = {
  model: list({ kind: "choice", choices: Object.keys(MODELS) }, "models, one line each", {
    default: ["conv64"],
  }),
  engine: list({ kind: "choice", choices: ["tfjs", "ort"] as const }, "training engines", {
    default: ["tfjs"],
  }),
  workers: list({ kind: "int", min: 1, max: 16 }, "tfjs engine: worker-thread counts", {
    default: [1, 2],
  }),
  threads: list({ kind: "int", min: 1, max: 16 }, "ort engine: intra-op thread counts", {
    default: [1, 2],
  }),
  batch: int("batch size", { default: 64, min: 1 }),
  steps: int("timed steps (one epoch)", { default: 4, min: 1 }),
  stock: boolean("add a tfjs case with tfjs's stock gradients"),
  backend: choice(BACKENDS, "tfjs backend (default: CGNN_BACKEND, else wasm)"),
};

const SCRIPT = {
  usage:
    "tsx bench/train.ts [--model conv64,mnist7,...] [--engine tfjs,ort] [--workers 1,2] [--threads 1,2] [flags]",
  summary:
    "Training throughput: one JSON line per (model, engine, workers or threads) case with images/s and GFLOP/s.",
};

runScript("bench/train", async () => {
  const v = readFlags(SCRIPT, FLAGS);
  const { batch, steps } = v;
  const names = v.model;
  const engines: EngineKind[] = v.engine;
  const active = await initBackend(v.backend);
  for (const name of names) {
    const spec = await MODELS[name]();
    const data = synthetic(spec, batch * steps);
    const flops = trainingFlopsPerImage(spec);
    const cases: { engine: EngineKind; workers: number; stock: boolean }[] = [];
    for (const engine of engines) {
      const reason = engine === "ort" ? ortUnsupported(spec) : undefined;
      if (reason) {
        process.stderr.write(`bench/train: skipping ort for ${name}: unsupported ${reason}\n`);
        continue;
      }
      const counts = engine === "ort" ? v.threads : v.workers;
      for (const w of counts) cases.push({ engine, workers: w, stock: false });
    }
    if (v.stock) cases.push({ engine: "tfjs", workers: 1, stock: true });
    for (const c of cases) {
      setStockGradients(c.stock);
      // Epoch 1 warms up (kernel set-up, worker start); epoch 2 is timed.
      const result = await train({
        spec,
        train: data,
        epochs: 2,
        batchSize: batch,
        lr: 1e-3,
        workers: c.workers,
        engine: c.engine,
        progress: "none",
        schedule: "constant",
      });
      setStockGradients(false);
      const imagesPerSec = result.history[1].imagesPerSec;
      const line = {
        bench: "train",
        model: name,
        engine: c.engine,
        ...(c.engine === "ort"
          ? { threads: c.workers }
          : { backend: active.name, workers: c.workers }),
        batch,
        ...(c.stock ? { gradients: "stock" } : {}),
        imagesPerSec: Number(imagesPerSec.toFixed(1)),
        gflops: Number(((imagesPerSec * flops) / 1e9).toFixed(2)),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }
});
