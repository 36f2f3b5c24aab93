// Times one level-1 MNIST distillation subset (≈104 real images, 10 synthetic) per ConvNet width,
// wall and CPU, to size the CPU config: prints one JSON line per width.
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { distillSubset } from "../src/distill/dm.js";
import { DM_DEFAULTS } from "../src/distill/presets.js";
import { initBackend } from "../src/nn/backend.js";
import { runScript } from "../src/util/cli.js";
import { int, list, readFlags } from "../src/util/flags.js";
import { firstMnistSubset } from "./mnist-subset.js";

const FLAGS = {
  widths: list({ kind: "int", min: 1 }, "ConvNet widths, one line each", { default: [16, 32] }),
  iterations: int("iterations timed per width", { default: 20, min: 1 }),
};

const SCRIPT = {
  usage: "tsx bench/distill.ts [--widths 16,32] [--iterations 20]",
  summary:
    "Times one level-1 MNIST distillation subset per ConvNet width, wall and CPU (JSON lines).",
};

runScript("bench/distill", async () => {
  const { widths, iterations } = readFlags(SCRIPT, FLAGS);
  const backend = await initBackend();
  const problem = await firstMnistSubset();
  const { labels } = problem;
  for (const width of widths) {
    const config = {
      iterations,
      width,
      ...DM_DEFAULTS,
      ...MNIST_NORMALIZATION,
    };
    distillSubset(problem, { ...config, iterations: 1 });
    const cpu = process.cpuUsage();
    const start = performance.now();
    distillSubset(problem, config);
    const wall = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    process.stdout.write(
      `${JSON.stringify({
        bench: "distill-subset",
        backend: backend.name,
        width,
        iterations,
        realImages: labels.length,
        wallSeconds: +wall.toFixed(3),
        cpuSeconds: +cpuSeconds.toFixed(3),
        msPerIteration: +((wall * 1000) / iterations).toFixed(1),
      })}\n`,
    );
  }
});
