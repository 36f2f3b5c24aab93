// The CG op (Eq. 4) on wasm against a naive float64 loop: values and gradients for stride,
// dilation, padding, orders 1..4 and shared mode; the parameter-count formula; no leaks.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { cgForward, cgParamCount } from "../src/nn/cg.js";
import { countMonomials } from "../src/nn/monomials.js";
import { type CgLayer, cgTerms, layerParams } from "../src/nn/spec.js";
import * as tf from "../src/nn/tf.js";
import { maxRelErr, naiveCg, randn } from "./cg-helpers.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

interface Case {
  name: string;
  shape: [number, number, number, number];
  layer: CgLayer;
}

const base = { kind: "cg", filters: 3 } as const;
const cases: Case[] = [
  { name: "k2 s2 order2", shape: [2, 6, 6, 2], layer: { ...base, kernel: 2, order: 2, stride: 2 } },
  { name: "k2 s1 order1", shape: [2, 5, 4, 3], layer: { ...base, kernel: 2, order: 1 } },
  {
    name: "k2 s1 d2 order2",
    shape: [2, 7, 7, 2],
    layer: { ...base, kernel: 2, order: 2, dilation: 2 },
  },
  {
    name: "k2 s1 d3 order3",
    shape: [1, 7, 8, 2],
    layer: { ...base, kernel: 2, order: 3, dilation: 3 },
  },
  {
    name: "k2 s2 d3 order2",
    shape: [2, 9, 9, 2],
    layer: { ...base, kernel: 2, order: 2, stride: 2, dilation: 3 },
  },
  {
    name: "k3 s2 same order2",
    shape: [2, 7, 6, 2],
    layer: { ...base, kernel: 3, order: 2, stride: 2, padding: "same" },
  },
  {
    name: "k3 s1 same d2 order2",
    shape: [1, 6, 6, 2],
    layer: { ...base, kernel: 3, order: 2, padding: "same", dilation: 2 },
  },
  {
    name: "k2 s2 pad1 order4",
    shape: [2, 5, 5, 2],
    layer: { ...base, kernel: 2, order: 4, stride: 2, padding: 1 },
  },
  {
    name: "k2 s1 same order2 shared",
    shape: [2, 5, 5, 3],
    layer: { ...base, kernel: 2, order: 2, padding: "same", shared: true },
  },
  {
    name: "k3 s3 order2 (7 not a multiple)",
    shape: [1, 7, 7, 2],
    layer: { ...base, kernel: 3, order: 2, stride: 3 },
  },
];

for (const { name, shape, layer } of cases) {
  test(`cgForward matches the naive loop and its gradients: ${name}`, () => {
    const [n, h, w, c] = shape;
    const cin = layer.shared ? 1 : c;
    const t = cgTerms(layer);
    const xs = randn(n * h * w * c, 1, 0.8);
    const ks = randn(t * cin * layer.filters, 2, 0.3);
    const bs = randn(layer.filters, 3);
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(xs, shape);
    const kernel = tf.tensor3d(ks, [t, cin, layer.filters]);
    const bias = tf.tensor1d(bs);
    const y = cgForward(x, layer, kernel, bias);
    const ref0 = naiveCg(xs, shape, layer, ks, bs, undefined);
    assert.deepEqual(y.shape, ref0.shape);
    const rs = randn(y.size, 4);
    const ref = naiveCg(xs, shape, layer, ks, bs, rs);
    const r = tf.tensor(rs, y.shape);
    const grads = tf.grads((a, b) =>
      tf.sum(tf.mul(cgForward(a as tf.Tensor4D, layer, b, bias), r)),
    );
    const [dx, dk] = grads([x, kernel]);
    assert.ok(maxRelErr(y.dataSync(), ref.y) < 1e-5, "forward");
    assert.ok(maxRelErr(dx.dataSync(), ref.dx) < 1e-4, "dx");
    assert.ok(maxRelErr(dk.dataSync(), ref.dk) < 1e-4, "dkernel");
    tf.dispose([x, kernel, bias, y, r, dx, dk]);
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
  });
}

test("the naive reference is not trivially equal: a changed kernel changes the output", () => {
  const layer: CgLayer = { ...base, kernel: 2, order: 2 };
  const xs = randn(2 * 3 * 3 * 2, 5);
  const ks = randn(cgTerms(layer) * 2 * 3, 6);
  const x = tf.tensor4d(xs, [2, 3, 3, 2]);
  const y = cgForward(x, layer, tf.tensor3d(ks, [cgTerms(layer), 2, 3]), undefined);
  ks[0] += 1;
  const ref = naiveCg(xs, [2, 3, 3, 2], layer, ks, undefined, undefined);
  assert.ok(maxRelErr(y.dataSync(), ref.y) > 1e-3);
});

test("parameter count: T·Cin·F + F with T = countMonomials(k², n)", () => {
  for (const [k, order, cin, f] of [
    [2, 2, 64, 64],
    [3, 2, 5, 7],
    [2, 4, 1, 10],
  ]) {
    const layer: CgLayer = { kind: "cg", filters: f, kernel: k, order };
    const expected = countMonomials(k * k, order) * cin * f + f;
    assert.equal(cgParamCount(layer, cin), expected);
    const fromSpec = layerParams([layer], [8, 8, cin]).reduce(
      (a, p) => a + p.shape.reduce((x, y) => x * y, 1),
      0,
    );
    assert.equal(fromSpec, expected);
  }
  assert.equal(countMonomials(4, 2), 14);
  assert.equal(
    cgParamCount({ kind: "cg", filters: 64, kernel: 2, order: 2 }, 64),
    14 * 64 * 64 + 64,
  );
  assert.equal(
    cgParamCount({ kind: "cg", filters: 8, kernel: 2, order: 2, shared: true }, 64),
    14 * 8 + 8,
  );
});
