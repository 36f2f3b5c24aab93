import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";

test("defaults apply with no flags or environment", () => {
  const c = loadConfig([], {});
  assert.equal(c.port, 8080);
  assert.equal(c.modelsDir, "models");
  assert.equal(c.defaultLevel, undefined, "unset: the manifest's references choose");
  assert.equal(c.threads, 1);
});

test("environment is read and flags override it", () => {
  const c = loadConfig(["--port", "9000", "--default-k=3"], {
    PORT: "7000",
    CGNN_MODELS_DIR: "/m",
    CGNN_THREADS: "2",
  });
  assert.equal(c.port, 9000);
  assert.equal(c.defaultK, 3);
  assert.equal(c.modelsDir, "/m");
  assert.equal(c.threads, 2);
});

test("a bad value gives one line naming the flag, the variable and the value", () => {
  assert.throws(
    () => loadConfig([], { PORT: "eighty" }),
    (e: Error) =>
      e instanceof ConfigError &&
      /"eighty" for --port \/ PORT/.test(e.message) &&
      !e.message.includes("\n"),
  );
  assert.throws(
    () => loadConfig(["--default-level", "6"], {}),
    /--default-level \/ CGNN_DEFAULT_LEVEL/,
  );
  assert.throws(() => loadConfig(["--threads", "1.5"], {}), /--threads/);
  assert.throws(
    () => loadConfig(["--bogus", "1"], {}),
    (e: Error) => e instanceof ConfigError && /bogus/.test(e.message),
  );
});

test("the queue bound, worker restart delay and shutdown timings are settings with safe defaults", () => {
  const d = loadConfig([], {});
  assert.equal(d.maxQueue, 4096);
  assert.ok(d.maxQueue >= 64 * d.maxImagesPerRequest, "64 connections of full requests fit");
  assert.equal(d.workerRestartMs, 100);
  assert.equal(d.shutdownDelayMs, 0);
  assert.equal(d.shutdownTimeoutMs, 8_000);
  const c = loadConfig(["--max-queue", "16", "--shutdown-timeout-ms", "2000"], {
    CGNN_WORKER_RESTART_MS: "250",
    CGNN_SHUTDOWN_DELAY_MS: "500",
  });
  assert.deepEqual(
    [c.maxQueue, c.workerRestartMs, c.shutdownDelayMs, c.shutdownTimeoutMs],
    [16, 250, 500, 2000],
  );
  assert.throws(() => loadConfig(["--max-queue", "0"], {}), /--max-queue \/ CGNN_MAX_QUEUE/);
  assert.throws(() => loadConfig([], { CGNN_SHUTDOWN_TIMEOUT_MS: "5" }), /--shutdown-timeout-ms/);
});
