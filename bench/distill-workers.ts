// Level-1 distillation throughput with 1 and 2 worker threads on the `cpu` preset's subsets:
// one JSON line per worker count, and the full five-level wall time it implies. --engine ort
// runs one onnxruntime session per worker with --threads intra-op threads (workers 0: in-process).
import { parseArgs } from "node:util";
import { loadDataset } from "../src/data/load.js";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { runDistillation } from "../src/distill/pipeline.js";
import { DM_DEFAULTS } from "../src/distill/presets.js";
import { initBackend } from "../src/nn/backend.js";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "1,2" },
    subsets: { type: "string", default: "20" },
    iterations: { type: "string", default: "60" },
    width: { type: "string", default: "32" },
    engine: { type: "string", default: "tfjs" },
    threads: { type: "string", default: "1" },
  },
});
const workerCounts = values.workers.split(",").map(Number);
const subsets = Number(values.subsets);
const iterations = Number(values.iterations);
const width = Number(values.width);
const threads = Number(values.threads);
const engine = values.engine;
if (
  [subsets, iterations, width, threads].some((n) => !Number.isInteger(n) || n < 1) ||
  workerCounts.some((n) => !Number.isInteger(n) || n < (engine === "ort" ? 0 : 1)) ||
  (engine !== "tfjs" && engine !== "ort")
) {
  process.stderr.write(
    "bench/distill-workers: --workers (≥ 1; ≥ 0 on ort), --subsets, --iterations, --width, --threads must be positive integers, --engine tfjs|ort\n",
  );
  process.exit(2);
}
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
