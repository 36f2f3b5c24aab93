// Backend choice: precedence of argument, --backend flag and CGNN_BACKEND; clear failures.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BackendError, initBackend, resolveBackend } from "../src/nn/backend.js";
import * as tf from "../src/nn/tf.js";

test("the argument beats the flag, the flag beats CGNN_BACKEND, wasm is the default", () => {
  const env = { CGNN_BACKEND: "cpu" };
  assert.equal(
    resolveBackend("tensorflow", { argv: ["--backend", "cpu"], env }).name,
    "tensorflow",
  );
  assert.equal(
    resolveBackend(undefined, { argv: ["x", "--backend=tensorflow"], env }).name,
    "tensorflow",
  );
  const fromEnv = resolveBackend(undefined, { argv: [], env });
  assert.deepEqual(fromEnv, { name: "cpu", reason: "from CGNN_BACKEND" });
  assert.deepEqual(resolveBackend(undefined, { argv: [], env: {} }), {
    name: "wasm",
    reason: "the default",
  });
});

test("an unknown backend name is a BackendError naming the choices", () => {
  assert.throws(
    () => resolveBackend(undefined, { argv: ["--backend", "webgl"], env: {} }),
    (e: unknown) =>
      e instanceof BackendError && /webgl.*--backend flag.*tensorflow, wasm, cpu/.test(e.message),
  );
  assert.throws(
    () => resolveBackend(undefined, { argv: [], env: { CGNN_BACKEND: "gpu" } }),
    BackendError,
  );
});

test("wasm starts, installs the missing training kernels, and is idempotent", async () => {
  const a = await initBackend("wasm", { quiet: true });
  const b = await initBackend("wasm", { quiet: true });
  assert.equal(a, b);
  assert.equal(tf.getBackend(), "wasm");
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm"));
  assert.ok(tf.getKernel("UnsortedSegmentSum", "wasm"));
});

test("tensorflow without tfjs-node installed fails with an actionable message", async (t) => {
  let installed = true;
  try {
    await import("@tensorflow/tfjs-node" as string);
  } catch {
    installed = false;
  }
  if (installed) {
    t.skip("tfjs-node is installed here");
    return;
  }
  await assert.rejects(
    initBackend("tensorflow", { quiet: true }),
    (e: unknown) => e instanceof BackendError && /npm i @tensorflow\/tfjs-node/.test(e.message),
  );
  await initBackend("wasm", { quiet: true });
  assert.equal(tf.getBackend(), "wasm");
});
