// CGLayer: a tf.Sequential with it saves and loads through tf.io with the same outputs, and its
// parameter count follows the formula.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "../src/nn/backend.js";
import { cgForward, cgParamCount } from "../src/nn/cg.js";
import { CGLayer } from "../src/nn/cg-layer.js";
import * as tf from "../src/nn/tf.js";
import { maxRelErr } from "./cg-helpers.js";

before(async () => {
  await initBackend("wasm", { quiet: true });
});

function model(): tf.Sequential {
  const m = tf.sequential();
  m.add(new CGLayer({ filters: 4, kernel: 2, order: 2, stride: 2, inputShape: [6, 6, 3] }));
  m.add(
    new CGLayer({ filters: 5, kernel: 2, order: 3, dilation: 2, padding: "same", shared: true }),
  );
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 2 }));
  return m;
}

test("CGLayer round-trips through tf.io (config and weights)", async () => {
  const m = model();
  assert.deepEqual(m.layers[0].outputShape, [null, 3, 3, 4]);
  assert.deepEqual(m.layers[1].outputShape, [null, 3, 3, 5]);
  const x = tf.randomUniform([2, 6, 6, 3]);
  const y = m.predict(x) as tf.Tensor;
  let artifacts: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  assert.ok(artifacts);
  assert.match(JSON.stringify(artifacts.modelTopology), /"class_name":"CGLayer"/);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const layer = loaded.layers[1] as CGLayer;
  assert.equal(layer.spec.order, 3);
  assert.equal(layer.spec.shared, true);
  assert.equal(layer.spec.dilation, 2);
  const y2 = loaded.predict(x) as tf.Tensor;
  assert.ok(maxRelErr(y2.dataSync(), y.dataSync()) < 1e-6);
  tf.dispose([x, y, y2]);
});

test("CGLayer parameter count and output equal cgForward with its weights", () => {
  const m = model();
  assert.equal(m.layers[0].countParams(), cgParamCount((m.layers[0] as CGLayer).spec, 3));
  assert.equal(m.layers[0].countParams(), 14 * 3 * 4 + 4);
  assert.equal(m.layers[1].countParams(), 34 * 1 * 5 + 5);
  const first = m.layers[0] as CGLayer;
  const x = tf.randomUniform([1, 6, 6, 3]) as tf.Tensor4D;
  const [kernel, bias] = first.getWeights();
  const direct = cgForward(x, first.spec, kernel, bias);
  const viaLayer = first.apply(x) as tf.Tensor;
  assert.ok(maxRelErr(viaLayer.dataSync(), direct.dataSync()) < 1e-6);
});

test("a CGLayer model trains (loss decreases with model.fit)", async () => {
  const m = model();
  m.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
  const x = tf.randomUniform([16, 6, 6, 3]);
  const target = tf.randomNormal([16, 2]);
  const history = await m.fit(x, target, { epochs: 15, batchSize: 16, verbose: 0 });
  const loss = history.history.loss as number[];
  assert.ok(loss[loss.length - 1] < loss[0] * 0.8, `loss ${loss[0]} → ${loss.at(-1)}`);
  tf.dispose([x, target]);
});
