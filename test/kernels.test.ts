// Parity of the registered wasm training kernels/gradients against the cpu backend's stock ones.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { type ModelSpec, modelParams } from "../src/nn/spec.js";
import * as tf from "../src/nn/tf.js";
import { initWeights } from "../src/nn/weights.js";
import { computeGradients } from "../src/train/step.js";
import { gaussian, rng } from "../src/util/random.js";

type Pad = "same" | "valid" | number;

function randn(size: number, seed: number): Float32Array {
  const normal = gaussian(rng(seed));
  return Float32Array.from({ length: size }, normal);
}

function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

async function on<T>(backend: string, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return fn();
}

before(async () => {
  await initBackend("wasm", { quiet: true });
});

interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  dilation: number;
  pad: Pad;
}

const convCases: ConvCase[] = [
  { n: 2, h: 7, w: 6, cin: 1, cout: 3, k: 3, stride: 1, dilation: 1, pad: "same" },
  { n: 2, h: 8, w: 8, cin: 3, cout: 4, k: 3, stride: 2, dilation: 1, pad: "same" },
  { n: 3, h: 9, w: 7, cin: 3, cout: 2, k: 3, stride: 2, dilation: 1, pad: "valid" },
  { n: 2, h: 9, w: 9, cin: 4, cout: 3, k: 3, stride: 1, dilation: 2, pad: "valid" },
  { n: 2, h: 8, w: 9, cin: 3, cout: 5, k: 3, stride: 1, dilation: 2, pad: "same" },
  { n: 2, h: 6, w: 6, cin: 64, cout: 64, k: 3, stride: 1, dilation: 1, pad: 1 },
  { n: 2, h: 7, w: 8, cin: 3, cout: 2, k: 2, stride: 2, dilation: 1, pad: 1 },
  { n: 2, h: 10, w: 10, cin: 2, cout: 3, k: 5, stride: 3, dilation: 1, pad: "same" },
  { n: 2, h: 5, w: 5, cin: 3, cout: 3, k: 1, stride: 2, dilation: 1, pad: "valid" },
  { n: 2, h: 9, w: 8, cin: 8, cout: 5, k: 3, stride: 2, dilation: 1, pad: "same" },
  { n: 2, h: 11, w: 10, cin: 6, cout: 4, k: 3, stride: 3, dilation: 1, pad: "valid" },
  { n: 3, h: 8, w: 8, cin: 8, cout: 4, k: 1, stride: 2, dilation: 1, pad: "valid" },
  { n: 2, h: 9, w: 9, cin: 8, cout: 4, k: 3, stride: 1, dilation: 2, pad: 2 },
];

/** A dilated kernel as the equivalent undilated one with zeros between the taps. */
function expandKernel(f: Float32Array, k: number, cin: number, cout: number, d: number) {
  const e = (k - 1) * d + 1;
  const out = new Float32Array(e * e * cin * cout);
  for (let a = 0; a < k; a++)
    for (let b = 0; b < k; b++)
      for (let i = 0; i < cin * cout; i++)
        out[(a * d * e + b * d) * cin * cout + i] = f[(a * k + b) * cin * cout + i];
  return { data: out, size: e };
}

function sampleTaps(g: Float32Array, k: number, cin: number, cout: number, d: number) {
  const e = (k - 1) * d + 1;
  const out = new Float32Array(k * k * cin * cout);
  for (let a = 0; a < k; a++)
    for (let b = 0; b < k; b++)
      for (let i = 0; i < cin * cout; i++)
        out[(a * k + b) * cin * cout + i] = g[(a * d * e + b * d) * cin * cout + i];
  return out;
}

for (const c of convCases) {
  test(`conv2d gradients on wasm match cpu: ${JSON.stringify(c)}`, async () => {
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
    const xData = randn(c.n * c.h * c.w * c.cin, 1);
    const fData = randn(c.k * c.k * c.cin * c.cout, 2);
    const pad =
      typeof c.pad === "number"
        ? ([
            [0, 0],
            [c.pad, c.pad],
            [c.pad, c.pad],
            [0, 0],
          ] as [[number, number], [number, number], [number, number], [number, number]])
        : c.pad;
    const got = await on("wasm", () =>
      tf.tidy(() => {
        const x = tf.tensor4d(xData, xShape);
        const f = tf.tensor4d(fData, [c.k, c.k, c.cin, c.cout]);
        const y = tf.conv2d(x, f, c.stride, pad, "NHWC", c.dilation);
        const dy = tf.tensor(randn(y.size, 3), y.shape);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, pad, "NHWC", c.dilation),
              dy,
            ),
          ),
        )([x, f]);
        return { dx: dx.dataSync().slice(), df: df.dataSync().slice(), yShape: y.shape };
      }),
    );
    const { data: eData, size: e } = expandKernel(fData, c.k, c.cin, c.cout, c.dilation);
    const want = await on("cpu", () =>
      tf.tidy(() => {
        const x = tf.tensor4d(xData, xShape);
        const f = tf.tensor4d(eData, [e, e, c.cin, c.cout]);
        const dy = tf.tensor4d(
          randn(
            got.yShape.reduce((p, q) => p * q, 1),
            3,
          ),
          got.yShape as [number, number, number, number],
        );
        const dx = tf.conv2dTranspose(dy, f, xShape, c.stride, pad);
        const df = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          strides: c.stride,
          pad,
          dataFormat: "NHWC",
          filterShape: [e, e, c.cin, c.cout],
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return {
          dx: dx.dataSync().slice(),
          df: sampleTaps(df.dataSync() as Float32Array, c.k, c.cin, c.cout, c.dilation),
        };
      }),
    );
    assert.ok(relErr(got.dx, want.dx) < 1e-4, `dx error ${relErr(got.dx, want.dx)}`);
    assert.ok(relErr(got.df, want.df) < 1e-4, `dfilter error ${relErr(got.df, want.df)}`);
  });
}

test("Conv2DBackpropFilter kernel on wasm matches cpu and leaks nothing", async () => {
  const xData = randn(2 * 9 * 9 * 3, 4);
  const dyData = randn(2 * 5 * 5 * 4, 5);
  const run = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(xData, [2, 9, 9, 3]);
      const dy = tf.tensor4d(dyData, [2, 5, 5, 4]);
      const df = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
        strides: 2,
        pad: "same",
        dataFormat: "NHWC",
        filterShape: [3, 3, 3, 4],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      return df;
    });
  const got = await on("wasm", () => {
    const before = tf.memory().numTensors;
    const t = run();
    const data = t.dataSync().slice();
    t.dispose();
    assert.equal(tf.memory().numTensors, before);
    return data;
  });
  const want = await on("cpu", () => {
    const t = run();
    const data = t.dataSync().slice();
    t.dispose();
    return data;
  });
  assert.ok(relErr(got, want) < 1e-4);
});

for (const [ta, tb] of [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
]) {
  test(`matMul gradients (transposeA ${ta}, transposeB ${tb}) on wasm match cpu`, async () => {
    const aShape = ta ? [2, 5, 4] : [2, 4, 5];
    const bShape = tb ? [2, 3, 5] : [2, 5, 3];
    const aData = randn(40, 6);
    const bData = randn(30, 7);
    const dyData = randn(24, 8);
    const grads = () =>
      tf.tidy(() => {
        const dy = tf.tensor(dyData, [2, 4, 3]);
        const [da, db] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb), dy)),
        )([tf.tensor(aData, aShape), tf.tensor(bData, bShape)]);
        return [da.dataSync().slice(), db.dataSync().slice()];
      });
    const got = await on("wasm", grads);
    const want = await on("cpu", grads);
    assert.ok(relErr(got[0], want[0]) < 1e-4);
    assert.ok(relErr(got[1], want[1]) < 1e-4);
  });
}

test("matMul gradient sums over a broadcast batch dimension", async () => {
  const got = await on("wasm", () =>
    tf.tidy(() => {
      const b = tf.tensor(randn(15, 9), [1, 5, 3]);
      const g = tf.grad((bb: tf.Tensor) =>
        tf.sum(tf.matMul(tf.ones([4, 2, 5]) as tf.Tensor3D, bb as tf.Tensor3D)),
      )(b);
      return { shape: g.shape, data: g.dataSync().slice() };
    }),
  );
  assert.deepEqual(got.shape, [1, 5, 3]);
  assert.ok(got.data.every((v) => Math.abs(v - 8) < 1e-5));
});

test("UnsortedSegmentSum on wasm matches cpu (the gather gradient)", async () => {
  const xData = randn(3 * 20, 10);
  const idx = [0, 3, 3, 7, 19, 0, 5];
  const grad = () =>
    tf.tidy(() => {
      const g = tf.grad((x: tf.Tensor) =>
        tf.sum(
          tf.mul(tf.gather(x, tf.tensor1d(idx, "int32"), 1), tf.reshape(tf.range(1, 22), [3, 7])),
        ),
      )(tf.tensor2d(xData, [3, 20]));
      return g.dataSync().slice();
    });
  const got = await on("wasm", grad);
  const want = await on("cpu", grad);
  assert.ok(relErr(got, want) < 1e-6);
  assert.ok(got.some((v) => v !== 0));
});

const everyLayer: ModelSpec = {
  name: "every-layer",
  input: [9, 9, 2],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.5, 0.4], std: [0.3, 0.2] },
    { kind: "conv2d", filters: 4, kernel: 3, padding: "same", bias: false },
    { kind: "batchNorm" },
    { kind: "relu" },
    { kind: "conv2d", filters: 4, kernel: 3, dilation: 2, padding: "same", bias: false },
    { kind: "instanceNorm", affine: true },
    {
      kind: "residual",
      body: [
        { kind: "conv2d", filters: 5, kernel: 3, stride: 2, padding: "same", bias: false },
        { kind: "batchNorm" },
        { kind: "relu" },
      ],
      shortcut: [{ kind: "conv2d", filters: 5, kernel: 1, stride: 2, padding: "valid" }],
    },
    { kind: "cg", filters: 3, kernel: 2, order: 2, stride: 1, dilation: 2 },
    { kind: "avgPool", size: 2, stride: 1 },
    { kind: "cg", filters: 3, kernel: 2, order: 2, stride: 2, shared: true },
    { kind: "flatten" },
    { kind: "monomials", order: 2 },
    { kind: "dense", units: 3 },
  ],
};

test("every layer kind: whole-model gradients on wasm match cpu", async () => {
  const weights = initWeights(everyLayer, 11);
  const trainable = modelParams(everyLayer)
    .filter((p) => p.trainable)
    .map((p) => p.name);
  const batch = {
    images: randn(3 * 9 * 9 * 2, 12).map((v) => Math.abs(v) % 1),
    labels: Uint8Array.from([0, 2, 1]),
    count: 3,
  };
  const model = { spec: everyLayer, classes: 3, trainable };
  const got = await on("wasm", () => computeGradients(model, weights, batch));
  const want = await on("cpu", () => computeGradients(model, weights, batch));
  await tf.setBackend("wasm");
  assert.ok(Math.abs(got.loss - want.loss) < 1e-5 * Math.max(1, Math.abs(want.loss)));
  for (const name of trainable) {
    const err = relErr(got.grads[name], want.grads[name]);
    assert.ok(err < 1e-4, `${name}: relative error ${err}`);
    assert.ok(
      want.grads[name].some((v) => v !== 0),
      `${name} has a gradient`,
    );
  }
});

test("Sum and Mean over leading/middle axes (matMul path) match cpu", async () => {
  const data = randn(3 * 5 * 4 * 6, 13);
  const cases: [number | number[], boolean][] = [
    [[0, 1, 2], false],
    [[1, 2], true],
    [[0], false],
    [1, false],
    [[-3, -2], true],
    [[2, 3], false],
    [3, true],
  ];
  for (const [axis, keepDims] of cases) {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(data, [3, 5, 4, 6]);
        const s = tf.sum(x, axis, keepDims);
        const m = tf.mean(x, axis, keepDims);
        return { shape: s.shape, s: s.dataSync().slice(), m: m.dataSync().slice() };
      });
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    assert.deepEqual(got.shape, want.shape, JSON.stringify(axis));
    assert.ok(relErr(got.s, want.s) < 1e-5, `sum ${JSON.stringify(axis)}`);
    assert.ok(relErr(got.m, want.m) < 1e-5, `mean ${JSON.stringify(axis)}`);
  }
  const ints = await on("wasm", () =>
    tf.tidy(() => tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), 0).arraySync()),
  );
  assert.deepEqual(ints, [4, 6]);
  await tf.setBackend("wasm");
});
