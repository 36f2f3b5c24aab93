// The direct Taylor expansion (Eq. 3) on 7×7 images: trains monomials(order) → dense(10),
// then writes the Fig. 3 quadratic-weight analysis (CSV, SVG, PNG) and the pruning table.
import { join } from "node:path";
import { accuracyOfKernels } from "../src/analysis/direct-eval.js";
import { trainDirect } from "../src/analysis/direct-train.js";
import { fig3Svg, writeSvgAndPng } from "../src/analysis/plot.js";
import { pruneByMagnitude } from "../src/analysis/prune.js";
import {
  byDistance,
  distanceCsv,
  quadraticWeights,
  weightsCsv,
} from "../src/analysis/quadratic.js";
import { type Dataset, take } from "../src/data/dataset.js";
import { loadDataset, parseDatasetName } from "../src/data/load.js";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { RESIZE_METHODS, type ResizeMethod, resizeDataset } from "../src/data/resize.js";
import { initBackend } from "../src/nn/backend.js";
import { countParams } from "../src/nn/spec.js";
import { taylorDirectSpec } from "../src/nn/taylor-direct.js";
import { writeFileAtomic, writeJsonAtomic } from "../src/util/atomic-write.js";
import { scriptFlags } from "../src/util/cli.js";

const flags = scriptFlags("taylor-direct");
const fail: (message: string) => never = flags.fail;
const { number } = flags;

const USAGE = `usage: taylor-direct.ts --order 1..4 [--data mnist7|mnist|fashion|idx:DIR] [--resize area|bilinear]
  [--epochs 2] [--batch 128] [--lr 0.001] [--seed 0] [--limit N] [--test-limit N]
  [--out runs/taylor-direct-orderN] [--progress lines|none] [--no-analysis]`;

const KERNEL = "3.kernel";
const BIAS = "3.bias";
const KEEP = [1, 0.5, 0.3, 0.1];

function parseFlags() {
  return flags.parse({
    order: { type: "string" },
    data: { type: "string", default: "mnist7" },
    resize: { type: "string", default: "area" },
    epochs: { type: "string", default: "2" },
    batch: { type: "string", default: "128" },
    lr: { type: "string", default: "0.001" },
    seed: { type: "string", default: "0" },
    limit: { type: "string" },
    "test-limit": { type: "string" },
    out: { type: "string" },
    progress: { type: "string" },
    "no-analysis": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
}

function to7x7(d: Dataset, method: ResizeMethod): Dataset {
  if (d.channels !== 1)
    fail(`${d.name} has ${d.channels} channels; the direct expansion takes 7×7×1`);
  return d.height === 7 && d.width === 7 ? d : resizeDataset(d, 7, 7, method);
}

async function main() {
  const f = parseFlags();
  if (f.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const order = number("order", f.order, true, 1);
  if (order === undefined || order > 4) fail("--order 1..4 is required");
  if (!(RESIZE_METHODS as readonly string[]).includes(f.resize)) {
    fail(`unknown --resize "${f.resize}"; choose one of ${RESIZE_METHODS.join(", ")}`);
  }
  if (f.progress && !["lines", "none"].includes(f.progress))
    fail("--progress must be lines or none");
  try {
    parseDatasetName(f.data);
  } catch (error) {
    fail((error as Error).message);
  }
  const resize = f.resize as ResizeMethod;
  const limit = number("limit", f.limit, true, 1);
  const testLimit = number("test-limit", f["test-limit"], true, 1);
  const spec = taylorDirectSpec(order);
  const out = f.out ?? join("runs", `taylor-direct-order${order}`);
  const command = ["tsx", "scripts/taylor-direct.ts", ...process.argv.slice(2)].join(" ");

  await initBackend();
  let trainData: Dataset;
  let testData: Dataset;
  try {
    trainData = await loadDataset(f.data, "train", { resize });
    testData = await loadDataset(f.data, "test", { resize });
  } catch (error) {
    fail((error as Error).message.split("\n")[0]);
  }
  trainData = to7x7(limit ? take(trainData, limit) : trainData, resize);
  testData = to7x7(testLimit ? take(testData, testLimit) : testData, resize);
  const params = countParams(spec);
  process.stderr.write(
    `taylor-direct: order ${order}, ${params} parameters, ${trainData.count} training images → ${out}\n`,
  );
  const quiet = f.progress === "none";
  const result = await trainDirect(trainData, {
    spec,
    order,
    norm: MNIST_NORMALIZATION,
    epochs: number("epochs", f.epochs, true, 1)!,
    batchSize: number("batch", f.batch, true, 1)!,
    lr: number("lr", f.lr, false, 0)!,
    seed: number("seed", f.seed, true, 0)!,
    checkpointPath: join(out, "checkpoint.safetensors"),
    extra: { data: trainData.name, resize, order, params, limit: limit ?? null, command },
    log: quiet ? undefined : (line) => process.stderr.write(`taylor-direct: ${line}\n`),
  });
  const kernel = result.weights[KERNEL].data;
  const keep = f["no-analysis"] ? [1] : KEEP;
  const pruned = keep.map((k) => (k === 1 ? kernel : pruneByMagnitude(kernel, k)));
  const accuracies = accuracyOfKernels(
    testData,
    order,
    MNIST_NORMALIZATION,
    pruned,
    result.weights[BIAS].data,
  );
  const summary: Record<string, unknown> = {
    order,
    terms: params / 10 - 1,
    params,
    data: trainData.name,
    resize,
    trainCount: trainData.count,
    testCount: testData.count,
    testAccuracy: accuracies[0],
    history: result.history,
    command,
  };
  process.stderr.write(
    `taylor-direct: order ${order} test accuracy ${(accuracies[0] * 100).toFixed(2)}%\n`,
  );
  if (!f["no-analysis"]) {
    summary.pruning = keep.map((k, index) => {
      process.stderr.write(
        `taylor-direct: keep ${k * 100}% of the weights → test accuracy ${(accuracies[index] * 100).toFixed(2)}%\n`,
      );
      return {
        keep: k,
        kept: pruned[index].reduce((s, v) => s + (v !== 0 ? 1 : 0), 0),
        accuracy: accuracies[index],
      };
    });
    if (order >= 2) {
      const quadratic = quadraticWeights(kernel, 10, 7, 7);
      const rows = byDistance(quadratic);
      await writeFileAtomic(join(out, "fig3-quadratic-weights.csv"), weightsCsv(quadratic, 7));
      await writeFileAtomic(join(out, "fig3-by-distance.csv"), distanceCsv(rows));
      const caption = `direct Taylor order ${order} on ${trainData.name}: ‖w_ij‖₂ over the 10 classes, levels = quintiles by value (L1 smallest)`;
      await writeSvgAndPng(
        fig3Svg(quadratic, rows, caption),
        join(out, "fig3.svg"),
        join(out, "fig3.png"),
      );
      summary.fig3 = {
        csv: join(out, "fig3-by-distance.csv"),
        png: join(out, "fig3.png"),
        weight: "L2 norm over classes",
      };
    }
  }
  await writeJsonAtomic(join(out, "taylor-direct.json"), summary);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`taylor-direct: ${error.message.split("\n")[0]}\n`);
  process.exit(1);
});
