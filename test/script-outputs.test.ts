// Every script that writes an output checks it in its first second: a bad --out (or a manifest
// the output cannot be recorded in) ends with one line and exit code 2 before any work.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { writeReferenceSet } from "../src/references/reference-set.js";
import { checkWritableOutput } from "../src/util/output-check.js";
import { saveFreshCheckpoint } from "./checkpoint-fixture.js";
import { directTaylor, randomWeights } from "./onnx-fixtures.js";

let dir: string;
let blocker: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cgnn-outputs-"));
  blocker = join(dir, "blocker");
  await writeFile(blocker, "a file, not a folder");
});
after(() => rm(dir, { recursive: true, force: true }));

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Runs a script; it is killed after 60 s (today's failure modes come after minutes of work). */
function run(
  script: string,
  args: string[],
): Promise<{ code: number; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) => {
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stderr, ms: Date.now() - started });
    });
  });
}

test("checkWritableOutput accepts new and existing paths and names what is wrong", async () => {
  await checkWritableOutput(join(dir, "new", "deeper", "x.json"), { flag: "out", kind: "file" });
  await checkWritableOutput(join(dir, "new-folder"), { flag: "out", kind: "folder" });
  await checkWritableOutput(dir, { flag: "out", kind: "folder" });
  await checkWritableOutput(blocker, { flag: "out", kind: "file" });
  assert.equal(await exists(join(dir, "new")), false, "a check creates nothing");
  await assert.rejects(
    checkWritableOutput(join(blocker, "x.json"), { flag: "out", kind: "file" }),
    /^CliError: --out must be a path that can be written, got ".*x\.json" \(.*blocker is not a folder\)$/,
  );
  await assert.rejects(
    checkWritableOutput(dir, { flag: "out", kind: "file" }),
    /--out must be a path that can be written, got ".*" \(.* is a folder\)$/,
  );
  await assert.rejects(
    checkWritableOutput(blocker, { flag: "out", kind: "folder" }),
    /\(.*blocker is not a folder\)$/,
  );
});

test("scripts refuse an --out that cannot be written, in seconds and with exit code 2", async () => {
  const file = join(blocker, "out.json");
  const folder = join(blocker, "run");
  const cases: [string, string[]][] = [
    ["scripts/train-taylornet.ts", ["--arch", "mnist7", "--out", folder]],
    ["scripts/train-embedder.ts", ["--out", folder]],
    ["scripts/taylor-direct.ts", ["--order", "2", "--out", folder]],
    ["scripts/expand.ts", ["--out", file]],
    ["scripts/evaluate.ts", ["--embedder", join(dir, "e.safetensors"), "--out", file]],
    [
      "scripts/export-onnx.ts",
      ["--checkpoint", "c", "--out", join(blocker, "m.onnx"), "--name", "n", "--version", "1"],
    ],
    ["scripts/publish-references.ts", ["--references", "r", "--models-dir", blocker]],
  ];
  const results = await Promise.all(cases.map(([script, args]) => run(script, args)));
  results.forEach(({ code, stderr, ms }, i) => {
    const name = cases[i][0].replace(/^scripts\/(.*)\.ts$/, "$1");
    assert.equal(code, 2, `${name}: ${stderr}`);
    assert.match(
      stderr,
      new RegExp(
        `^${name}: --(out|models-dir) must be a path that can be written, got ".*" \\(.*blocker is not a folder\\)\\n$`,
      ),
    );
    assert.ok(ms < 30_000, `${name}: ${ms} ms`);
  });
});

test("export-onnx checks --out against --manifest before it writes the model", async () => {
  const checkpoint = join(dir, "ckpt.safetensors");
  await saveFreshCheckpoint(checkpoint, directTaylor, randomWeights(directTaylor, 3));
  const out = join(dir, "outside", "taylor.onnx");
  const models = join(dir, "models-a");
  const r = await run("scripts/export-onnx.ts", [
    ...["--checkpoint", checkpoint, "--out", out, "--name", "t", "--version", "1"],
    ...["--manifest", models],
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^export-onnx: --out .*taylor\.onnx is not inside --manifest .*models-a\n$/,
  );
  assert.equal(await exists(out), false, "no model written");
});

test("publish-references checks the manifest before it copies anything into the models folder", async () => {
  const source = join(dir, "refs.safetensors");
  await writeReferenceSet(source, {
    version: "v1",
    classes: ["a", "b"],
    levels: [1, 2].map((level) => ({
      level,
      count: 2,
      images: new Float32Array(2 * 4),
      labels: Uint8Array.from([0, 1]),
    })),
    height: 2,
    width: 2,
    channels: 1,
    provenance: {},
  });
  const models = join(dir, "models-b");
  await mkdir(models);
  const embedder = {
    file: "e.onnx",
    sha256: "0".repeat(64),
    role: "embedder",
    format: "onnx",
    version: "1",
    input: { shape: [2, 2, 1], layout: "NHWC", range: [0, 1] },
    output: { name: "embedding", shape: [4] },
    labels: [],
  };
  await writeFile(join(models, "manifest.json"), JSON.stringify({ models: { emb: embedder } }));
  const r = await run("scripts/publish-references.ts", [
    ...["--references", source, "--models-dir", models, "--default-level", "5"],
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^publish-references: default level 5 is not among the set's levels 1,2\n$/,
  );
  assert.equal(await exists(join(models, "references.safetensors")), false, "nothing copied");
});

test("train-taylornet names ORT intra-op threads (--threads) apart from tfjs worker threads (--workers)", async () => {
  const [ort, tfjs] = await Promise.all([
    run("scripts/train-taylornet.ts", ["--arch", "mnist7", "--engine", "ort", "--workers", "2"]),
    run("scripts/train-taylornet.ts", ["--arch", "mnist7", "--engine", "tfjs", "--threads", "2"]),
  ]);
  assert.equal(ort.code, 2, ort.stderr);
  assert.match(
    ort.stderr,
    /^train-taylornet: --workers 2 sets the tfjs engine's worker threads; .* --threads\n$/,
  );
  assert.equal(tfjs.code, 2, tfjs.stderr);
  assert.match(
    tfjs.stderr,
    /^train-taylornet: --threads 2 sets the ort engine's intra-op threads; .* --workers\n$/,
  );
});
