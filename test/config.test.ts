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
