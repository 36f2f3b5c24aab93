// Fig. 3 analysis (quadratic weights vs distance, five levels), magnitude pruning, the SVG, and
// the scripts' one-line errors for bad flags.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { before, test } from "node:test";
import { accuracyOfKernels } from "../src/analysis/direct-eval.js";
import { fig3Svg } from "../src/analysis/plot.js";
import { pruneByMagnitude } from "../src/analysis/prune.js";
import { byDistance, quadraticWeights } from "../src/analysis/quadratic.js";
import { MNIST_NORMALIZATION } from "../src/data/normalize.js";
import { initBackend } from "../src/nn/backend.js";
import { countMonomials, enumerateMonomials } from "../src/nn/monomials.js";
import { taylorDirectSpec } from "../src/nn/taylor-direct.js";
import { initWeights } from "../src/nn/weights.js";
import { evaluate } from "../src/train/evaluate.js";
import { rng } from "../src/util/random.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

test("quadraticWeights reads the (i ≤ j) block, measures distance, and splits five equal levels", () => {
  const classes = 2;
  const terms = countMonomials(9, 2);
  const kernel = new Float32Array(terms * classes);
  const tuples = enumerateMonomials(9, 2);
  // Coefficient of x_i·x_j: (3, 4)·(i·9 + j + 1) so the norm is 5·(i·9 + j + 1).
  tuples.forEach((tuple, t) => {
    if (tuple.length !== 2) return;
    const v = tuple[0] * 9 + tuple[1] + 1;
    kernel[t * classes] = 3 * v;
    kernel[t * classes + 1] = 4 * v;
  });
  const q = quadraticWeights(kernel, classes, 3, 3);
  assert.equal(q.length, 45);
  const pair = q.find((w) => w.i === 0 && w.j === 8);
  assert.ok(pair);
  assert.ok(Math.abs(pair.weight - 5 * 9) < 1e-4);
  assert.ok(Math.abs(pair.distance - Math.SQRT2 * 2) < 1e-9);
  assert.equal(q.find((w) => w.i === 4 && w.j === 4)?.distance, 0);
  const counts = [1, 2, 3, 4, 5].map((l) => q.filter((w) => w.level === l).length);
  assert.deepEqual(counts, [9, 9, 9, 9, 9]);
  const maxL1 = Math.max(...q.filter((w) => w.level === 1).map((w) => w.weight));
  const minL2 = Math.min(...q.filter((w) => w.level === 2).map((w) => w.weight));
  assert.ok(maxL1 <= minL2, "levels are ordered by value");
  const rows = byDistance(q);
  assert.equal(
    rows.reduce((s, r) => s + r.count, 0),
    45,
  );
  assert.equal(rows[0].distance, 0);
  assert.equal(rows[0].count, 9);
  assert.match(fig3Svg(q, rows, "test"), /<svg[\s\S]*polyline[\s\S]*<\/svg>/);
  assert.throws(
    () => quadraticWeights(new Float32Array(9 * classes), classes, 3, 3),
    /no quadratic block/,
  );
});

test("pruneByMagnitude keeps exactly the largest fraction by |w|", () => {
  const w = Float32Array.from([0.1, -5, 3, -0.2, 0.05, 4, -1, 2, 0.3, -0.4]);
  assert.deepEqual(Array.from(pruneByMagnitude(w, 0.3)), [0, -5, 3, 0, 0, 4, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(pruneByMagnitude(w, 0.5)), [0, -5, 3, 0, 0, 4, -1, 2, 0, 0]);
  assert.deepEqual(Array.from(pruneByMagnitude(w, 1)), Array.from(w));
  const ties = pruneByMagnitude(Float32Array.from([1, 1, 1, 1]), 0.5);
  assert.equal(ties.filter((v) => v !== 0).length, 2);
  assert.throws(() => pruneByMagnitude(w, 0), /keep must be/);
});

test("accuracyOfKernels agrees with the spec's evaluate() for the original and a pruned kernel", () => {
  const spec = taylorDirectSpec(2);
  const weights = initWeights(spec, 5);
  const random = rng(9);
  const count = 50;
  const data = {
    name: "synthetic7",
    images: Float32Array.from({ length: count * 49 }, () => random()),
    labels: Uint8Array.from({ length: count }, () => Math.floor(random() * 10)),
    count,
    height: 7,
    width: 7,
    channels: 1,
    classes: Array.from({ length: 10 }, (_, k) => `${k}`),
  };
  const kernel = weights["3.kernel"].data;
  const pruned = pruneByMagnitude(kernel, 0.3);
  const [full, part] = accuracyOfKernels(
    data,
    2,
    MNIST_NORMALIZATION,
    [kernel, pruned],
    weights["3.bias"].data,
    16,
  );
  assert.equal(full, evaluate(spec, weights, data).accuracy);
  const prunedWeights = {
    ...weights,
    "3.kernel": { shape: weights["3.kernel"].shape, data: pruned },
  };
  assert.equal(part, evaluate(spec, prunedWeights, data).accuracy);
});

for (const [script, args, pattern] of [
  [
    "scripts/train-taylornet.ts",
    ["--arch", "resnet"],
    /^train-taylornet: --arch must be one of mnist28, mnist7, cifar10, got "resnet"\n$/,
  ],
  ["scripts/train-taylornet.ts", ["--arch", "mnist7", "--epochs", "x"], /--epochs must be/],
  ["scripts/taylor-direct.ts", ["--order", "9"], /--order must be an integer in 1\.\.4, got "9"/],
  ["scripts/taylor-direct.ts", ["--order", "2", "--bogus"], /Unknown option/],
  ["scripts/expand.ts", ["--top", "0"], /--top must be/],
] as const) {
  test(`${script} ${args.join(" ")} ends with one clear line and exit code 2`, () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", script, ...args], {
      encoding: "utf8",
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });
}
