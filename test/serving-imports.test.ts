// The Docker image's runtime stage drops the production packages that serving never imports:
// the list in the Dockerfile must be exactly the dependencies outside serving's import graph.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { importGraph } from "./import-graph.js";

test("serving never imports tfjs, and the Dockerfile drops exactly what serving does not import", () => {
  const { modules, packages } = importGraph(["src/service/server.ts"]);
  assert.ok(modules.has("src/inference/pool-worker.ts"), "worker entries are followed");
  const tfjs = ["tfjs", "tfjs-core", "tfjs-layers", "tfjs-backend-cpu", "tfjs-backend-wasm"];
  for (const p of [...tfjs.map((name) => `@tensorflow/${name}`), "cli-progress"]) {
    assert.ok(!packages.has(p), `serving imports ${p}`);
  }
  // The page's polynomial view uses the pure expansion modules of nn/ and analysis/ (no tfjs:
  // the package check above); nothing of training, distillation or evaluation.
  for (const file of modules) {
    assert.ok(!/^src\/(train|distill|eval)\//.test(file), `serving reaches ${file}`);
  }
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  const dependencies = Object.keys(pkg.dependencies);
  // tsx runs the service (CMD node --import tsx) and registers itself in worker threads.
  const needed = new Set([...packages, "tsx"]);
  for (const p of needed) assert.ok(dependencies.includes(p), `${p} is not a dependency`);
  const line = readFileSync("Dockerfile", "utf8")
    .split("\n")
    .find((l) => l.includes("npm uninstall --no-save"));
  assert.ok(line, "the Dockerfile drops the packages serving does not import");
  const dropped = line
    .split(/\s+/)
    .filter((w) => w && !w.startsWith("-") && !/^(RUN|npm|uninstall)$/.test(w));
  assert.deepEqual(dropped.sort(), dependencies.filter((d) => !needed.has(d)).sort());
});
