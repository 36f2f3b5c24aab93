// Level-1 distillation throughput with 1 and 2 worker threads on the `cpu` preset's subsets:
// one JSON line per worker count, and the full five-level wall time it implies. --engine ort
// runs one onnxruntime session per worker with --threads intra-op threads.
import { loadDataset } from "../src/data/load.js";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { runDistillation } from "../src/distill/pipeline.js";
import { DM_DEFAULTS } from "../src/distill/presets.js";
import { initBackend } from "../src/nn/backend.js";
import { runScript } from "../src/util/cli.js";
import { choice, int, list, readFlags } from "../src/util/flags.js";

const FLAGS = {
  workers: list({ kind: "int", min: 0 }, "worker-thread counts (0: in-process), one line each", {
    default: [1, 2],
  }),
  subsets: int("level-1 subsets distilled per count", { default: 20, min: 1 }),
  iterations: int("iterations per subset", { default: 60, min: 1 }),
  width: int("ConvNet width", { default: 32, min: 1 }),
  engine: choice(["tfjs", "ort"], "the distribution-matching engine", { default: "tfjs" }),
  threads: int("onnxruntime intra-op threads per session (--engine ort)", { default: 1, min: 1 }),
};

const SCRIPT = {
  usage: "tsx bench/distill-workers.ts [--workers 1,2] [--subsets 20] [flags]",
  summary:
    "Level-1 distillation throughput per worker-thread count, and the full five-level time it implies (JSON lines).",
};

runScript("bench/distill-workers", async () => {
  const values = readFlags(SCRIPT, FLAGS);
  const { subsets, iterations, width, engine, threads } = values;
  const workerCounts = values.workers;
  await initBackend("wasm", { quiet: true });
  const mnist = await loadDataset("mnist", "train");
  // `subsets` groups of 10 images per class, the first of each class: level 1 of the cpu preset.
  const picked: number[] = [];
  const taken = new Array<number>(10).fill(0);
  for (let i = 0; i < mnist.count && picked.length < subsets * 100; i++) {
    if (taken[mnist.labels[i]] < subsets * 10) {
      taken[mnist.labels[i]]++;
      picked.push(i);
    }
  }
  const images = new Float32Array(picked.length * 784);
  picked.forEach((index, k) => {
    images.set(mnist.images.subarray(index * 784, (index + 1) * 784), k * 784);
  });
  const data = {
    name: "mnist-balanced",
    images,
    labels: Uint8Array.from(picked, (i) => mnist.labels[i]),
    shape: [28, 28, 1] as [number, number, number],
    classes: mnist.classes,
  };
  // Full cpu-preset run: 600 + 100 + 20 + 4 + 1 subsets, of 100, 60, 50, 50, 40 real images each;
  // a subset's cost is close to proportional to its images, so the run is ≈ 725 level-1 subsets' worth.
  const fullRunSubsetEquivalents = 600 + (100 * 60 + 20 * 50 + 4 * 50 + 40) / 100;
  for (const workers of workerCounts) {
    let wall = 0;
    const cpu = process.cpuUsage();
    const out = await runDistillation(
      data,
      {
        fanIns: [10, subsets],
        seed: 1,
        iterations,
        width,
        ...DM_DEFAULTS,
        ...MNIST_NORMALIZATION,
      },
      {
        workers,
        engine: { engine, threads },
        onLevel: (level, seconds) => {
          if (level === 1) wall = seconds;
        },
      },
    );
    const done = out.levels[0].count / 10;
    const used = process.cpuUsage(cpu);
    process.stdout.write(
      `${JSON.stringify({
        bench: "distill-level1",
        engine,
        workers,
        threadsPerSession: engine === "ort" ? threads : undefined,
        subsets: done,
        iterations,
        width,
        wallSeconds: +wall.toFixed(1),
        subsetsPerSecond: +(done / wall).toFixed(3),
        // The whole process (worker threads included): load-independent, unlike the wall time.
        cpuSecondsPerSubset: +((used.user + used.system) / 1e6 / done).toFixed(3),
        impliedFullRunMinutes: +((fullRunSubsetEquivalents * wall) / done / 60).toFixed(1),
      })}\n`,
    );
  }
});
