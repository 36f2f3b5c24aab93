// End to end on the SHIPPED models/ directory (they ship, so a missing manifest fails): real digits, real answers.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import request from "supertest";
import { loadConfig } from "../src/config.js";
import { createApp } from "../src/service/app.js";
import { silentLogger } from "../src/service/log.js";
import { Metrics } from "../src/service/metrics.js";
import { Reloader } from "../src/service/reload.js";
import { ServingState } from "../src/service/state.js";
import { digitPng, mnistTest } from "./service-fixture.js";

/** The shipped models/, or another models folder to check the same way. */
const dir = process.env.CGNN_E2E_MODELS_DIR ?? "models";
const state = new ServingState();
const metrics = new Metrics({ defaultMetrics: false });
const config = loadConfig([], { CGNN_MODELS_DIR: dir, CGNN_ENGINE: "microbatch" });
const app = createApp({ config, state, metrics, log: silentLogger });
const reloader = new Reloader(config, metrics, state, silentLogger);

before(async () => {
  assert.ok(existsSync(`${dir}/manifest.json`), `${dir}/manifest.json is missing: the models ship`);
  assert.equal(await reloader.reload("test", true), true, "the shipped models load and verify");
});
after(() => state.close());

/** 40 MNIST test digits (every 250th image), uploaded as PNG. */
async function accuracy(path: string, accept: (res: request.Response, label: number) => boolean) {
  const data = await mnistTest();
  let right = 0;
  const n = 40;
  for (let i = 0; i < n; i++) {
    const index = i * 250;
    const res = await request(app)
      .post(path)
      .attach("image", await digitPng(index), "digit.png");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (accept(res, data.labels[index])) right++;
  }
  return right / n;
}

test("shipped embedder + references classify uploaded MNIST test digits at the default level", async () => {
  const level = state.current?.referencesEntry.defaultLevel ?? 5;
  const acc = await accuracy(
    "/classify",
    (res, label) => res.body.references.level === level && res.body.label === String(label),
  );
  assert.ok(acc >= 0.9, `accuracy ${acc} at level ${level}`);
});

test("shipped TaylorNet classifies uploaded MNIST test digits", async () => {
  assert.ok(state.current?.classifier, "the shipped manifest holds a TaylorNet classifier");
  const acc = await accuracy(
    "/taylornet/predict",
    (res, label) => res.body.label === String(label),
  );
  assert.ok(acc >= 0.9, `accuracy ${acc}`);
});
