// "The network is a polynomial; show it": trains (seconds) or loads a tiny CG network and prints
// its explicit polynomial in the input pixels, terms sorted by |coefficient|.

import { loadDataset } from "../src/data/load.js";
import { resizeDataset } from "../src/data/resize.js";
import { initBackend } from "../src/nn/backend.js";
import { forward } from "../src/nn/forward.js";
import { expandCgNetwork } from "../src/nn/polynomial.js";
import type { ModelSpec } from "../src/nn/spec.js";
import * as tf from "../src/nn/tf.js";
import { initWeights, type Weights } from "../src/nn/weights.js";
import { loadCheckpoint } from "../src/train/checkpoint.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { input, runScript } from "../src/util/cli.js";
import { boolean, int, list, readFlags, string } from "../src/util/flags.js";
import { checkWritableOutput } from "../src/util/output-check.js";
import { gaussian, rng } from "../src/util/random.js";

const FLAGS = {
  checkpoint: string("expand this trained CG network instead of training the tiny one", {
    arg: "FILE",
  }),
  digits: list({ kind: "int", min: 0, max: 9 }, "the two MNIST digits told apart", {
    length: 2,
    default: [0, 1],
  }),
  synthetic: boolean("train on a synthetic rule (top half vs bottom half) instead of MNIST"),
  limit: int("training images", { default: 2000, min: 1 }),
  steps: int("Adam steps", { default: 300, min: 1 }),
  seed: int("seed", { default: 0, min: 0 }),
  top: int("terms printed per output, by |coefficient|", { default: 20, min: 1 }),
  out: string("write every term as JSON here", { arg: "FILE.json" }),
};

const SCRIPT = {
  usage: "tsx scripts/expand.ts [--checkpoint FILE | --digits 0,1 [--synthetic]] [flags]",
  summary: `Prints a CG network as its explicit polynomial in the input pixels. Without --checkpoint it
trains Fig. 4(c)'s shape on 4×4 MNIST (area-resized): 16 pixels → CG(2,2,1,2,2) → 2×2 →
CG(2,2,1,2,2) → z, a logistic "first digit vs second digit" score, then expands z.`,
};

const TINY: ModelSpec = {
  name: "cg-4x4-tiny",
  input: [4, 4, 1],
  layers: [
    { kind: "cg", filters: 1, kernel: 2, order: 2, stride: 2 },
    { kind: "cg", filters: 1, kernel: 2, order: 2, stride: 2 },
    { kind: "flatten" },
  ],
  output: "logits",
};

/** 4×4 images and 0/1 targets: two MNIST digits, or a synthetic rule (top half vs bottom half). */
async function tinyData(digits: [number, number], synthetic: boolean, limit: number, seed: number) {
  if (synthetic) {
    const normal = gaussian(rng(seed));
    const images = new Float32Array(limit * 16);
    const targets = new Float32Array(limit);
    for (let n = 0; n < limit; n++) {
      targets[n] = n % 2;
      for (let p = 0; p < 16; p++) {
        const bright = p < 8 === (n % 2 === 1) ? 0.6 : 0.1;
        images[n * 16 + p] = Math.min(1, Math.max(0, bright + 0.15 * normal()));
      }
    }
    return { images, targets, count: limit, source: "synthetic" };
  }
  const mnist = await loadDataset("mnist", "train");
  const picked: number[] = [];
  for (let i = 0; i < mnist.count && picked.length < limit; i++) {
    if (mnist.labels[i] === digits[0] || mnist.labels[i] === digits[1]) picked.push(i);
  }
  const size = 28 * 28;
  const raw = new Float32Array(picked.length * size);
  picked.forEach((i, k) => {
    raw.set(mnist.images.subarray(i * size, (i + 1) * size), k * size);
  });
  const small = resizeDataset(
    { ...mnist, images: raw, count: picked.length, labels: new Uint8Array(picked.length) },
    4,
    4,
    "area",
  );
  const targets = Float32Array.from(picked, (i) => (mnist.labels[i] === digits[1] ? 1 : 0));
  return {
    images: small.images,
    targets,
    count: picked.length,
    source: `mnist digits ${digits.join(" vs ")}, 4×4 area`,
  };
}

function trainTiny(
  images: Float32Array,
  targets: Float32Array,
  count: number,
  steps: number,
  seed: number,
) {
  const weights = initWeights(TINY, seed);
  const vars: Record<string, tf.Variable> = {};
  for (const [name, w] of Object.entries(weights))
    vars[name] = tf.variable(tf.tensor(w.data, w.shape), true, name);
  const x = tf.tensor4d(images, [count, 4, 4, 1]);
  const y = tf.tensor2d(targets, [count, 1]);
  const optimizer = tf.train.adam(0.05);
  let loss = Number.NaN;
  for (let s = 0; s < steps; s++) {
    const value = optimizer.minimize(
      () => tf.losses.sigmoidCrossEntropy(y, forward(TINY, vars, x) as tf.Tensor2D) as tf.Scalar,
      true,
    );
    if (s === steps - 1 && value) loss = value.dataSync()[0];
    value?.dispose();
  }
  const logits = tf.tidy(() => forward(TINY, vars, x));
  const z = logits.dataSync();
  let correct = 0;
  for (let n = 0; n < count; n++) if (z[n] > 0 === targets[n] > 0.5) correct++;
  const trained: Weights = {};
  for (const [name, v] of Object.entries(vars))
    trained[name] = { shape: v.shape, data: v.dataSync() as Float32Array };
  tf.dispose([x, y, logits, ...Object.values(vars)]);
  optimizer.dispose();
  return { weights: trained, loss, accuracy: correct / count };
}

async function main() {
  const f = readFlags(SCRIPT, FLAGS);
  const { top, steps, limit, seed } = f;
  const digits = f.digits as [number, number];
  if (f.out !== undefined) await checkWritableOutput(f.out, { flag: "out", kind: "file" });
  await initBackend(undefined, { quiet: true });
  let spec = TINY;
  let weights: Weights;
  let provenance: Record<string, unknown>;
  if (f.checkpoint) {
    const ckpt = await input(loadCheckpoint(f.checkpoint));
    spec = ckpt.spec;
    weights = ckpt.weights;
    provenance = { checkpoint: f.checkpoint };
  } else {
    const data = await input(tinyData(digits, f.synthetic, limit, seed));
    const trained = trainTiny(data.images, data.targets, data.count, steps, seed);
    weights = trained.weights;
    provenance = {
      data: data.source,
      images: data.count,
      steps,
      trainLoss: trained.loss,
      trainAccuracy: trained.accuracy,
    };
  }
  const [h, w, c] = spec.input;
  const names = Array.from({ length: h * w * c }, (_, i) => {
    const pixel = Math.floor(i / c);
    return `x${Math.floor(pixel / w)}${pixel % w}${c > 1 ? `c${i % c}` : ""}`;
  });
  const polys = expandCgNetwork(spec, weights);
  const report = polys.map((p, output) => ({
    output,
    degree: p.degree(),
    terms: p.terms.size,
    top: p
      .sortedTerms()
      .slice(0, top)
      .map((t) => ({
        coefficient: t.coefficient,
        monomial:
          t.exponents
            .flatMap((e, i) => (e === 0 ? [] : [e === 1 ? names[i] : `${names[i]}^${e}`]))
            .join("·") || "1",
      })),
  }));
  process.stdout.write(`${spec.name}: ${JSON.stringify(provenance)}\n`);
  polys.forEach((p, k) => {
    process.stdout.write(
      `output ${k}: degree ${p.degree()}, ${p.terms.size} terms; the ${Math.min(top, p.terms.size)} largest by |coefficient|:\n`,
    );
    process.stdout.write(`  z = ${p.format(names, top)} + …\n`);
  });
  if (f.out) {
    const all = polys.map((p) => p.sortedTerms());
    await writeFileAtomic(
      f.out,
      JSON.stringify({
        spec,
        weights: Object.fromEntries(
          Object.entries(weights).map(([k, w]) => [
            k,
            { shape: w.shape, data: Array.from(w.data) },
          ]),
        ),
        provenance: {
          ...provenance,
          command: `tsx scripts/expand.ts ${process.argv.slice(2).join(" ")}`,
        },
        variables: names,
        outputs: report,
        allTerms: all,
      }),
    );
  }
}

runScript("expand", main);
