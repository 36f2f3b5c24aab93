// Training throughput: one JSON line per (model, backend, workers, batch) case with images/s
// and GFLOP/s (forward + both gradients counted analytically from the spec).
// Usage: tsx bench/train.ts [--model conv64,mnist7,...] [--workers 1,2] [--batch 64]
//        [--steps 4] [--stock] [--backend wasm] [--engine tfjs,ort]
// With --engine ort, "workers" is onnxruntime's intra-op thread count (one session, no workers).
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
import { CliError, choiceFlag, intFlag, main, parseCli } from "../src/util/cli.js";
import { rng } from "../src/util/random.js";

type SpecFactory = () => Promise<ModelSpec>;

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
  "resnet18-w16": async () => {
    const embedder = (await import("../src/nn/resnet.js")).resnetSpec({
      depth: 18,
      width: 16,
      input: [28, 28, 1],
      mean: [0.1307],
      std: [0.3081],
    });
    // A 10-class linear head on the embedding, as train-embedder's cross-entropy head trains.
    return {
      ...embedder,
      output: "logits",
      layers: [...embedder.layers, { kind: "dense", units: 10 }],
    };
  },
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

main(async () => {
  const v = parseCli({
    model: { type: "string" },
    workers: { type: "string" },
    batch: { type: "string" },
    steps: { type: "string" },
    stock: { type: "boolean" },
    backend: { type: "string" },
    engine: { type: "string" },
  });
  const names = (v.model ?? "conv64").split(",");
  for (const n of names) {
    if (!MODELS[n])
      throw new CliError(`unknown --model ${n}; known: ${Object.keys(MODELS).join(", ")}`);
  }
  const workerCounts = (v.workers ?? "1,2")
    .split(",")
    .map((w) => intFlag(w, "workers", 1, { min: 1, max: 16 }));
  const batch = intFlag(v.batch, "batch", 64, { min: 1 });
  const steps = intFlag(v.steps, "steps", 4, { min: 1 });
  const engines = (v.engine ?? "tfjs").split(",").map((e) => {
    if (e !== "tfjs" && e !== "ort") throw new CliError(`unknown --engine ${e}; known: tfjs, ort`);
    return e as EngineKind;
  });
  const backend =
    v.backend === undefined ? undefined : choiceFlag(v.backend, "backend", BACKENDS, "wasm");
  const choice = await initBackend(backend);
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
      for (const w of workerCounts) cases.push({ engine, workers: w, stock: false });
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
          : { backend: choice.name, workers: c.workers }),
        batch,
        ...(c.stock ? { gradients: "stock" } : {}),
        imagesPerSec: Number(imagesPerSec.toFixed(1)),
        gflops: Number(((imagesPerSec * flops) / 1e9).toFixed(2)),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }
});
