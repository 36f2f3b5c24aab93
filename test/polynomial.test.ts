// Polynomial algebra, the Fig. 4(c) expansion, and expandCgNetwork against the tfjs forward pass.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { forward } from "../src/nn/forward.js";
import { cgCluster, expandCgNetwork, Polynomial } from "../src/nn/polynomial.js";
import type { ModelSpec } from "../src/nn/spec.js";
import * as tf from "../src/nn/tf.js";
import { initWeights, type Weights } from "../src/nn/weights.js";
import { randn } from "./cg-helpers.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

const x = (i: number) => Polynomial.variable(2, i);

test("polynomial algebra: (x+y)² expands, compose substitutes, evaluate agrees", () => {
  const square = x(0).add(x(1)).pow(2);
  assert.equal(square.terms.get("2,0"), 1);
  assert.equal(square.terms.get("1,1"), 2);
  assert.equal(square.terms.get("0,2"), 1);
  assert.equal(square.terms.size, 3);
  assert.equal(square.format(["x", "y"]), "2.0000·x·y + 1.0000·x^2 + 1.0000·y^2");
  // p(u, v) = u·v + 3, with u = x + 1, v = x − y  →  x² − xy + x − y + 3
  const p = Polynomial.variable(2, 0).mul(Polynomial.variable(2, 1)).add(Polynomial.constant(2, 3));
  const composed = p.compose([x(0).add(Polynomial.constant(2, 1)), x(0).add(x(1).scale(-1))]);
  assert.equal(composed.terms.get("2,0"), 1);
  assert.equal(composed.terms.get("1,1"), -1);
  assert.equal(composed.terms.get("0,1"), -1);
  assert.equal(composed.terms.get("0,0"), 3);
  assert.equal(composed.evaluate([2, 5]), (2 + 1) * (2 - 5) + 3);
  assert.equal(x(0).add(x(0).scale(-1)).terms.size, 0, "cancelled terms vanish");
});

test("Fig. 4(c): two CG steps on four variables give degree 4 with cross-cluster terms", () => {
  const v = (i: number) => Polynomial.variable(4, i);
  const c = randn(15, 7);
  const y1 = cgCluster([v(0), v(1)], Array.from(c.subarray(0, 5)), 0.3, 2);
  const y2 = cgCluster([v(2), v(3)], Array.from(c.subarray(5, 10)), -0.2, 2);
  const z = cgCluster([y1, y2], Array.from(c.subarray(10, 15)), 0.1, 2);
  assert.equal(z.degree(), 4);
  for (const key of ["4,0,0,0", "1,0,1,0", "1,1,1,0", "1,1,1,1", "0,0,0,3"]) {
    assert.ok(z.terms.has(key), `z has the term ${key}`);
  }
  // y1 alone has no x3, and no cubic terms.
  assert.ok(![...y1.terms.keys()].some((k) => k.split(",")[2] !== "0"));
  assert.equal(y1.degree(), 2);
  const at = [0.3, -1.2, 0.7, 2.0];
  const ey1 = y1.evaluate(at);
  const ey2 = y2.evaluate(at);
  const direct =
    0.1 + c[10] * ey1 + c[11] * ey2 + c[12] * ey1 * ey1 + c[13] * ey1 * ey2 + c[14] * ey2 * ey2;
  assert.ok(Math.abs(z.evaluate(at) - direct) < 1e-9 * Math.max(1, Math.abs(direct)));
});

function perturb(weights: Weights, seed: number): Weights {
  let s = seed;
  for (const [name, w] of Object.entries(weights)) {
    const noise = randn(w.data.length, s++, 0.2);
    for (let i = 0; i < w.data.length; i++) {
      if (name.endsWith("movingVariance")) w.data[i] = 1 + Math.abs(noise[i]);
      else if (!name.endsWith("kernel")) w.data[i] += noise[i];
    }
  }
  return weights;
}

function checkExpansion(spec: ModelSpec, seed: number) {
  const weights = perturb(initWeights(spec, seed), seed + 100);
  const polys = expandCgNetwork(spec, weights);
  const [h, w, c] = spec.input;
  const points = randn(5 * h * w * c, seed + 1, 1);
  const y = tf.tidy(() => {
    const params = Object.fromEntries(
      Object.entries(weights).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]),
    );
    return forward(spec, params, tf.tensor4d(points, [5, h, w, c]));
  });
  const out = y.dataSync();
  const units = polys.length;
  let worst = 0;
  for (let b = 0; b < 5; b++) {
    const at = points.subarray(b * h * w * c, (b + 1) * h * w * c);
    polys.forEach((p, u) => {
      const expected = out[b * units + u];
      worst = Math.max(
        worst,
        Math.abs(p.evaluate(at) - expected) / Math.max(1, Math.abs(expected)),
      );
    });
  }
  y.dispose();
  return { polys, worst };
}

test("expandCgNetwork: 4×4 → CG(2,2,s2) → CG(2,2,s2) → 1 equals cgForward at random points", () => {
  const spec: ModelSpec = {
    name: "fig4c",
    input: [4, 4, 1],
    layers: [
      { kind: "cg", filters: 1, kernel: 2, order: 2, stride: 2 },
      { kind: "cg", filters: 1, kernel: 2, order: 2, stride: 2 },
      { kind: "flatten" },
    ],
    output: "logits",
  };
  const { polys, worst } = checkExpansion(spec, 11);
  assert.equal(polys.length, 1);
  assert.equal(polys[0].degree(), 4);
  assert.ok(worst < 1e-4, `max relative error ${worst}`);
  // Pixels of different first-level clusters meet only through the second CG: x(0,0)·x(3,3).
  const key = new Array(16).fill(0);
  key[0] = 1;
  key[15] = 1;
  assert.ok(polys[0].terms.has(key.join(",")));
});

test("expandCgNetwork: normalize, conv, multi-channel CG, batch norm and dense agree with forward", () => {
  const spec: ModelSpec = {
    name: "mixed",
    input: [3, 3, 1],
    layers: [
      { kind: "normalize", mean: [0.1], std: [0.3] },
      { kind: "conv2d", filters: 2, kernel: 2, padding: "same" },
      { kind: "cg", filters: 2, kernel: 2, order: 2, dilation: 2, padding: 1 },
      { kind: "batchNorm" },
      { kind: "flatten" },
      { kind: "dense", units: 2 },
    ],
    output: "logits",
  };
  const { polys, worst } = checkExpansion(spec, 21);
  assert.equal(polys.length, 2);
  assert.equal(polys[0].degree(), 2);
  assert.ok(worst < 1e-4, `max relative error ${worst}`);
});
