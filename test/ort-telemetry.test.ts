// onnxruntime's telemetry stays off unless opted in: a service that classifies an image and an
// ORT training step, each in a child process with a fresh empty HOME, leave that HOME empty.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startServiceChild } from "./service-child.js";
import { buildModelsDir, digitPng } from "./service-fixture.js";

/** Every file and folder under `dir`, relative. */
async function contents(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test("the service (main thread and pool workers) writes nothing to an empty HOME", async () => {
  const home = await mkdtemp(join(tmpdir(), "cgnn-home-"));
  const fixture = await buildModelsDir();
  const service = await startServiceChild(fixture.dir, { HOME: home, CGNN_WORKERS: "2" });
  try {
    await service.ready();
    const res = await fetch(`${service.url}/classify`, {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: await digitPng(0),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok("label" in ((await res.json()) as object));
    service.child.kill("SIGTERM");
    assert.equal(await service.exited, 0);
    assert.deepEqual(await contents(home), []);
  } finally {
    service.kill();
    await fixture.cleanup();
    await rm(home, { recursive: true, force: true });
  }
});

const trainingStep = `
import { OrtGradients } from "./src/train/ort/engine.ts";
import { initWeights } from "./src/nn/weights.ts";
const spec = { name: "tiny", input: [4, 4, 1], output: "logits",
  layers: [{ kind: "flatten" }, { kind: "dense", units: 3 }] };
const engine = await OrtGradients.create({ spec, classes: 3, trainable: ["1.kernel", "1.bias"] });
const result = await engine.compute(initWeights(spec, 1),
  { images: new Float32Array(2 * 16).fill(0.5), labels: Uint8Array.of(0, 2), count: 2 });
await engine.close();
process.stdout.write(JSON.stringify({ loss: result.loss, grads: Object.keys(result.grads) }));
`;

function runTrainingStep(home: string, env: NodeJS.ProcessEnv = {}) {
  // onnxruntime itself records nothing when CI is set: without it both halves of the test mean
  // something in CI too (the opt-in must write, the default must not).
  const { CI: _ci, ...inherited } = process.env;
  return spawnSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", trainingStep],
    { encoding: "utf8", env: { ...inherited, HOME: home, ...env }, timeout: 60_000 },
  );
}

test("one ORT training step writes nothing to an empty HOME; CGNN_ORT_TELEMETRY=1 opts in", async () => {
  const home = await mkdtemp(join(tmpdir(), "cgnn-home-"));
  try {
    const off = runTrainingStep(home);
    assert.equal(off.status, 0, off.stderr);
    const step = JSON.parse(off.stdout) as { loss: number; grads: string[] };
    assert.ok(Number.isFinite(step.loss));
    assert.deepEqual(step.grads.sort(), ["1.bias", "1.kernel"]);
    assert.deepEqual(await contents(home), []);
    // The opt-in really reaches onnxruntime: its telemetry folder appears.
    const on = runTrainingStep(home, { CGNN_ORT_TELEMETRY: "1" });
    assert.equal(on.status, 0, on.stderr);
    assert.ok(
      (await contents(home)).includes(
        join(".cache", "Microsoft", "DeveloperTools", ".onnxruntime"),
      ),
      `HOME holds ${await contents(home)}`,
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test("every module that imports onnxruntime-node imports ort-telemetry first", async () => {
  const files = ["src/inference/runtime.ts", "src/train/ort/engine.ts"];
  const grep = spawnSync("grep", ["-rlE", `from "onnxruntime-node"`, "src", "bench", "scripts"], {
    encoding: "utf8",
  });
  assert.deepEqual(grep.stdout.trim().split("\n").sort(), files.sort());
  for (const file of files) {
    const source = await readFile(file, "utf8");
    const guard = source.indexOf("util/ort-telemetry.js");
    assert.ok(guard >= 0 && guard < source.indexOf(`from "onnxruntime-node"`), file);
  }
});
