// The service under overload and worker death, over HTTP: a full inference queue answers 503
// "overloaded" with Retry-After, dead workers make /readyz 503 (naming the model) until the pool
// has replaced them, and then everything is served again.
import assert from "node:assert/strict";
import { test } from "node:test";
import request from "supertest";
import type { WorkerPool } from "../src/inference/pool.js";
import { digitPng } from "./service-fixture.js";
import { startTestService } from "./service-harness.js";

test("past --max-queue waiting images a request gets 503 overloaded with Retry-After", async () => {
  const svc = await startTestService({ workers: 1, maxQueue: 2 });
  try {
    assert.equal(await svc.load(), true);
    const embedder = svc.state.current!.embedder;
    // Keep the one worker busy on big uploads, and fill the queue behind it.
    const big = await digitPng(3, { scale: 70 });
    const busy = embedder.runImages(Array(12).fill(big), { invert: "auto", frame: true });
    const waiting = [
      embedder.run(new Float32Array(784), 1),
      embedder.run(new Float32Array(784), 1),
    ];
    assert.equal(embedder.engine.queuedImages, 2);
    const metrics = await request(svc.app).get("/metrics");
    assert.match(metrics.text, /cgnn_inference_queue_images\{model="embedder"\} 2/);
    const refused = await request(svc.app)
      .post("/classify")
      .set("content-type", "image/png")
      .send(await digitPng(0));
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body.error.code, "overloaded");
    assert.match(refused.body.error.message, /queued/);
    assert.equal(refused.headers["retry-after"], "1");
    await Promise.all([busy, ...waiting]);
    // Once the queue has drained the same request is served.
    const served = await request(svc.app)
      .post("/classify")
      .set("content-type", "image/png")
      .send(await digitPng(0));
    assert.equal(served.status, 200, served.text);
    const after = await request(svc.app).get("/metrics");
    assert.match(
      after.text,
      /cgnn_http_errors_total\{route="\/classify",code="503",error="overloaded"\} 1/,
    );
  } finally {
    await svc.stop();
  }
});

test("with every worker of a model dead: readyz 503 names it, requests 503, then it recovers", async () => {
  const svc = await startTestService({ workers: 2, workerRestartMs: 1500 });
  try {
    assert.equal(await svc.load(), true);
    const pool = svc.state.current!.embedder.engine as WorkerPool;
    assert.equal(pool.workers.length, 2);
    await Promise.all(pool.workers.map((w) => w.terminate()));

    const ready = await request(svc.app).get("/readyz");
    assert.equal(ready.status, 503);
    assert.equal(ready.body.status, "not_ready");
    assert.deepEqual(ready.body.models, ["embedder"]);
    assert.match(ready.body.reason, /embedder/);
    assert.equal((await request(svc.app).get("/v2/health/ready")).status, 503);
    const png = await digitPng(0);
    const refused = await request(svc.app)
      .post("/classify")
      .set("content-type", "image/png")
      .send(png);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body.error.code, "no_worker");
    assert.ok(Number(refused.headers["retry-after"]) >= 1);
    const up = await request(svc.app).get("/metrics");
    assert.match(up.text, /cgnn_inference_up\{model="embedder"\} 0/);
    assert.match(up.text, /cgnn_inference_up\{model="taylornet"\} 1/);
    assert.match(up.text, /^cgnn_ready 0$/m);
    // The TaylorNet model has its own workers and keeps serving.
    const predicted = await request(svc.app)
      .post("/taylornet/predict")
      .set("content-type", "image/png")
      .send(png);
    assert.equal(predicted.status, 200, predicted.text);

    const deadline = Date.now() + 30_000;
    while ((await request(svc.app).get("/readyz")).status !== 200 || pool.workers.length < 2) {
      assert.ok(Date.now() < deadline, "the pool did not recover within 30 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    const served = await request(svc.app)
      .post("/classify")
      .set("content-type", "image/png")
      .send(png);
    assert.equal(served.status, 200, served.text);
    const metrics = await request(svc.app).get("/metrics");
    assert.match(metrics.text, /cgnn_inference_worker_restarts_total\{model="embedder"\} 2/);
    assert.match(metrics.text, /cgnn_inference_up\{model="embedder"\} 1/);
    assert.match(metrics.text, /^cgnn_ready 1$/m);
    const died = svc.logs.filter((l) => l.event === "inference_worker_died");
    assert.equal(died.length, 2);
    assert.equal(died[0].fields.model, "embedder");
  } finally {
    await svc.stop();
  }
});
