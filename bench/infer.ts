// Inference speed: onnxruntime vs tfjs-wasm per model at batch 1 and 64 (default: ResNet18 width
// 16 and the TaylorNets mnist7/mnist28 with random weights, or --checkpoint files), CG variants,
// and the worker pool vs main-thread micro-batching under concurrent single-image requests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { createInferenceEngine, type InferenceEngine } from "../src/inference/inference.js";
import { loadOnnxModel } from "../src/inference/runtime.js";
import { initBackend } from "../src/nn/backend.js";
import { forward } from "../src/nn/forward.js";
import { resnetSpec } from "../src/nn/resnet.js";
import type { ModelSpec } from "../src/nn/spec.js";
import { taylorNetSpec } from "../src/nn/taylornet.js";
import * as tf from "../src/nn/tf.js";
import { initWeights, type Weights } from "../src/nn/weights.js";
import type { CgMode } from "../src/onnx/emit-context.js";
import { writeOnnxModel } from "../src/onnx/export.js";
import { loadCheckpoint } from "../src/train/checkpoint.js";
import { input, runScript } from "../src/util/cli.js";
import { boolean, number, readFlags, repeat } from "../src/util/flags.js";

const FLAGS = {
  checkpoint: repeat(
    "benchmark this checkpoint (default: random-weight ResNet18 w16, TaylorNet mnist7 and mnist28)",
    "FILE",
  ),
  seconds: number("seconds per case", { default: 1.5, above: 0 }),
  "skip-engines": boolean("skip the worker pool vs micro-batching comparison"),
};

const SCRIPT = {
  usage: "tsx bench/infer.ts [--checkpoint FILE ...] [--seconds 1.5] [--skip-engines]",
  summary:
    "Inference speed: onnxruntime vs tfjs-wasm per model at batch 1 and 64, the CG export variants, and the serving engines (JSON lines).",
};

const resnet18 = resnetSpec({
  depth: 18,
  width: 16,
  input: [28, 28, 1],
  mean: [0.1307],
  std: [0.3081],
  name: "resnet18-w16",
});

interface Case {
  spec: ModelSpec;
  weights: Weights;
}

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/**
 * Runs fn until `seconds` have passed (at least 5 calls, after one warm-up). Returns calls per
 * second from the median call time (robust to other processes preempting this one) and from
 * the mean.
 */
async function rate(
  seconds: number,
  fn: () => Promise<void>,
): Promise<{ median: number; mean: number }> {
  await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || performance.now() - start < seconds * 1000) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  const total = times.reduce((a, b) => a + b, 0);
  times.sort((a, b) => a - b);
  return {
    median: 1000 / times[Math.floor(times.length / 2)],
    mean: (1000 * times.length) / total,
  };
}

function perImage(r: { median: number; mean: number }, batch: number) {
  return {
    imagesPerSec: Math.round(r.median * batch),
    meanImagesPerSec: Math.round(r.mean * batch),
  };
}

function images(n: number, spec: ModelSpec): Float32Array {
  return Float32Array.from({ length: n * spec.input.reduce((a, b) => a * b, 1) }, Math.random);
}

async function engineThroughput(c: Case, file: string, threads: number, seconds: number) {
  const model = await loadOnnxModel(file, { intraOpNumThreads: threads });
  for (const batch of [1, 64]) {
    const x = images(batch, c.spec);
    const perSec = await rate(seconds, async () => {
      await model.run(x, batch);
    });
    emit({
      bench: "infer",
      model: c.spec.name,
      engine: "ort",
      threads,
      batch,
      ...perImage(perSec, batch),
    });
  }
  await model.close();
}

async function tfjsThroughput(c: Case, seconds: number) {
  const params = Object.fromEntries(
    Object.entries(c.weights).map(([k, w]) => [k, tf.tensor(w.data, w.shape)]),
  );
  for (const batch of [1, 64]) {
    const x = tf.tensor(images(batch, c.spec), [batch, ...c.spec.input]);
    const perSec = await rate(seconds, async () => {
      const y = tf.tidy(() => forward(c.spec, params, x));
      await y.data();
      y.dispose();
    });
    x.dispose();
    emit({
      bench: "infer",
      model: c.spec.name,
      engine: "tfjs-wasm",
      threads: 1,
      batch,
      ...perImage(perSec, batch),
    });
  }
  tf.dispose(Object.values(params));
}

/** `concurrency` clients each sending one image at a time for `seconds`. */
async function concurrent(
  engine: InferenceEngine,
  spec: ModelSpec,
  concurrency: number,
  seconds: number,
) {
  const x = images(1, spec);
  await engine.run(x, 1);
  const latencies: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await engine.run(x, 1);
        latencies.push(performance.now() - t);
      }
    }),
  );
  loop.disable();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Number(latencies[Math.floor(p * (latencies.length - 1))].toFixed(2));
  return {
    imagesPerSec: Math.round(latencies.length / elapsed),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    eventLoopP99Ms: Number((loop.percentile(99) / 1e6).toFixed(2)),
    eventLoopMaxMs: Number((loop.max / 1e6).toFixed(2)),
  };
}

async function engines(c: Case, file: string, seconds: number) {
  const kinds = [
    { engine: "pool", options: { engine: "pool", workers: 2, maxBatch: 64 } },
    {
      engine: "microbatch",
      options: { engine: "microbatch", intraOpNumThreads: 2, maxBatch: 64, maxWaitMs: 2 },
    },
  ] as const;
  for (const { engine, options } of kinds) {
    const e = await createInferenceEngine(file, options);
    for (const concurrency of [1, 64]) {
      const r = await concurrent(e, c.spec, concurrency, seconds);
      emit({ bench: "infer-engine", model: c.spec.name, engine, concurrency, ...r });
    }
    await e.close();
  }
  const direct = await loadOnnxModel(file, { intraOpNumThreads: 2 });
  const plain: InferenceEngine = {
    run: (x, n) => direct.run(x, n),
    close: () => direct.close(),
    metadata: direct.metadata,
    inputShape: direct.inputShape,
    outputDim: direct.outputDim,
    queuedImages: 0,
    alive: true,
  };
  const r = await concurrent(plain, c.spec, 64, seconds);
  emit({
    bench: "infer-engine",
    model: c.spec.name,
    engine: "direct-unbatched",
    concurrency: 64,
    ...r,
  });
  await direct.close();
}

/** The CG export variants side by side (one ORT thread, batch 1 and 64). */
async function cgModes(c: Case, dir: string, seconds: number) {
  for (const cgMode of ["slice", "matmul", "depthwise", "auto"] as CgMode[]) {
    const path = join(dir, `${c.spec.name}-${cgMode}.onnx`);
    await writeOnnxModel(path, c.spec, c.weights, { cgMode });
    const model = await loadOnnxModel(path, { intraOpNumThreads: 1 });
    for (const batch of [1, 64]) {
      const x = images(batch, c.spec);
      const perSec = await rate(seconds, async () => {
        await model.run(x, batch);
      });
      emit({
        bench: "infer-cg",
        model: c.spec.name,
        engine: "ort",
        cgMode,
        threads: 1,
        batch,
        ...perImage(perSec, batch),
      });
    }
    await model.close();
  }
}

async function main() {
  const values = readFlags(SCRIPT, FLAGS);
  const { seconds } = values;
  const cases: Case[] = [];
  for (const path of values.checkpoint) {
    const { spec, weights } = await input(loadCheckpoint(path));
    cases.push({ spec, weights });
  }
  if (cases.length === 0) {
    cases.push({ spec: resnet18, weights: initWeights(resnet18, 1) });
    for (const arch of ["mnist7", "mnist28"]) {
      const spec = taylorNetSpec(arch);
      cases.push({ spec, weights: initWeights(spec, 1) });
    }
  }
  await initBackend("wasm", { quiet: true });
  const dir = await mkdtemp(join(tmpdir(), "cgnn-bench-infer-"));
  try {
    for (const c of cases) {
      const hasCg = c.spec.layers.some((l) => l.kind === "cg");
      const file = join(dir, `${c.spec.name}.onnx`);
      await writeOnnxModel(file, c.spec, c.weights);
      if (hasCg) await cgModes(c, dir, seconds);
      for (const threads of [1, 2]) await engineThroughput(c, file, threads, seconds);
      await tfjsThroughput(c, seconds);
      if (!values["skip-engines"] && c.spec.output === "embedding")
        await engines(c, file, seconds * 2);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runScript("bench/infer", main);
