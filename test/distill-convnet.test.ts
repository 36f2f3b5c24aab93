import assert from "node:assert/strict";
import { test } from "node:test";
import { distillConvNetSpec } from "../src/nn/convnet.js";
import { countParams, inferShapes, outputShape } from "../src/nn/spec.js";

test("Fig. 8 ConvNet: 28×28 padded to 32, pooled 32→16→8→4, a 128·16 embedding", () => {
  const spec = distillConvNetSpec();
  const shapes = inferShapes(spec.layers, spec.input);
  assert.deepEqual(shapes[1], [32, 32, 128]);
  assert.deepEqual(
    spec.layers.flatMap((l, i) => (l.kind === "avgPool" ? [shapes[i]] : [])),
    [
      [16, 16, 128],
      [8, 8, 128],
      [4, 4, 128],
    ],
  );
  assert.deepEqual(outputShape(spec), [2048]);
  assert.equal(countParams(spec), 9 * 128 + 2 * 9 * 128 * 128);
  assert.deepEqual(spec.layers.map((l) => l.kind).slice(0, 5), [
    "normalize",
    "conv2d",
    "instanceNorm",
    "relu",
    "avgPool",
  ]);
});

test("width and input size are configurable", () => {
  assert.deepEqual(outputShape(distillConvNetSpec({ width: 16 })), [16 * 16]);
  assert.deepEqual(outputShape(distillConvNetSpec({ input: [32, 32, 3], width: 8 })), [8 * 16]);
  assert.deepEqual(outputShape(distillConvNetSpec({ input: [12, 12, 1], width: 4 })), [4 * 4]);
});
