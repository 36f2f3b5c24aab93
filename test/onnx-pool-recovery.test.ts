// The pool under overload and worker death: a full queue refuses with EngineUnavailableError
// ("overloaded"), a dead worker's batch gets "worker_failed", and a new worker takes over.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EngineUnavailableError } from "../src/inference/engine.js";
import { MicroBatcher } from "../src/inference/micro-batcher.js";
import { type WorkerEvent, WorkerPool } from "../src/inference/pool.js";
import { buildModelsDir, digitPng, type Fixture } from "./service-fixture.js";

let fx: Fixture;
before(async () => {
  fx = await buildModelsDir();
});
after(() => fx.cleanup());

const pixels = (n: number) => new Float32Array(n * 784).fill(0.5);

function isUnavailable(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof EngineUnavailableError, String(error));
    assert.equal(error.code, code);
    assert.ok(error.retryAfterSeconds >= 1);
    assert.doesNotMatch(error.message, /\//, "the message names the model, not its path");
    return true;
  };
}

test("a pool refuses images past maxQueue and serves the rest", async () => {
  const pool = await WorkerPool.create(join(fx.dir, "taylornet.onnx"), {
    workers: 1,
    maxQueue: 3,
  });
  try {
    // The first job goes to the worker at once; the next two wait; the fourth would make 4 > 3.
    const first = pool.run(pixels(1), 1);
    const waiting = [pool.run(pixels(2), 2), pool.run(pixels(1), 1)];
    assert.equal(pool.queuedImages, 3);
    await assert.rejects(pool.run(pixels(1), 1), isUnavailable("overloaded"));
    assert.equal(pool.queuedImages, 3, "a refused job is not queued");
    const outputs = await Promise.all([first, ...waiting]);
    assert.deepEqual(
      outputs.map((o) => o.length),
      [10, 20, 10],
    );
    assert.equal(pool.queuedImages, 0);
    // A job larger than the bound still runs when nothing waits.
    assert.equal((await pool.run(pixels(5), 5)).length, 50);
  } finally {
    await pool.close();
  }
});

test("the micro-batcher refuses images past maxQueue too", async () => {
  const engine = await MicroBatcher.create(join(fx.dir, "taylornet.onnx"), {
    maxQueue: 2,
    maxWaitMs: 50,
  });
  try {
    const queued = [engine.run(pixels(1), 1), engine.run(pixels(1), 1)];
    assert.equal(engine.queuedImages, 2);
    await assert.rejects(engine.run(pixels(1), 1), isUnavailable("overloaded"));
    assert.equal((await Promise.all(queued)).length, 2);
    assert.equal(engine.queuedImages, 0);
  } finally {
    await engine.close();
  }
});

test("a terminated worker's batch gets worker_failed; the pool restarts it and serves again", async () => {
  const events: WorkerEvent[] = [];
  const pool = await WorkerPool.create(join(fx.dir, "embedder.onnx"), {
    workers: 1,
    restartDelayMs: { initial: 300, max: 1000 },
    onWorkerEvent: (e) => events.push(e),
  });
  try {
    const png = await digitPng(0, { scale: 8 });
    const inFlight = pool.runImages([png, png, png, png], { invert: "auto", frame: true });
    const queued = pool.run(pixels(1), 1);
    const [worker] = pool.workers;
    await worker.terminate();
    await assert.rejects(inFlight, isUnavailable("worker_failed"));
    // No worker is left: what waited and what comes now is refused, not left hanging.
    await assert.rejects(queued, isUnavailable("no_worker"));
    assert.equal(pool.alive, false);
    await assert.rejects(pool.run(pixels(1), 1), isUnavailable("no_worker"));
    assert.deepEqual(
      events.map((e) => e.kind),
      ["died"],
    );
    assert.equal((events[0] as { restartInMs: number }).restartInMs, 300);
    const deadline = Date.now() + 30_000;
    while (!pool.alive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pool.alive, true);
    assert.deepEqual(
      events.map((e) => e.kind),
      ["died", "restarted"],
    );
    assert.equal((await pool.run(pixels(2), 2)).length, 128);
    assert.notEqual(pool.workers[0], worker);
  } finally {
    await pool.close();
  }
});
