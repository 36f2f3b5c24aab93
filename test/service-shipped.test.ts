// End to end on the SHIPPED models/ directory (they ship, so a missing manifest fails): real digits, real answers, the docs' examples.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
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

/** The fenced code blocks of a markdown file, in order, with their language. */
function codeBlocks(markdown: string): { lang: string; text: string }[] {
  return [...markdown.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[1],
    text: m[2],
  }));
}

test("docs/API.md's JSON request examples run on the shipped models and answer what the docs show", async () => {
  const blocks = codeBlocks(await readFile("docs/API.md", "utf8"));
  let checked = 0;
  for (const [i, block] of blocks.entries()) {
    if (block.lang !== "sh") continue;
    const command = block.text.replace(/\\\n\s*/g, " ");
    const curl = command.match(/-d '(\{.*?\})'/);
    const url = command.match(/http:\/\/localhost:8080(\S+)/);
    if (!curl || !url) continue;
    const documented = JSON.parse(blocks[i + 1].text);
    const res = await request(app).post(url[1]).send(JSON.parse(curl[1]));
    assert.equal(res.status, 200, `${url[1]}: ${JSON.stringify(res.body)}`);
    if (documented.model_name) {
      assert.equal(res.body.model_name, documented.model_name);
      assert.equal(res.body.model_version, documented.model_version);
      assert.deepEqual(res.body.outputs[0].shape, documented.outputs[0].shape);
      res.body.outputs[0].data.forEach((v: number, j: number) => {
        assert.ok(Math.abs(v - documented.outputs[0].data[j]) < 0.01, `${url[1]} logit ${j}`);
      });
    } else {
      assert.equal(res.body.label, documented.label, url[1]);
      assert.deepEqual(res.body.model, documented.model, url[1]);
      for (const [label, p] of Object.entries(documented.probabilities as Record<string, number>)) {
        assert.ok(Math.abs(res.body.probabilities[label] - p) < 1e-3, `${url[1]} p(${label})`);
      }
    }
    checked++;
  }
  assert.equal(checked, 2, "the /taylornet/predict and KServe JSON examples");
});

test("docs/API.md's /classify example is the shipped answer for the first MNIST test digit", async () => {
  const blocks = codeBlocks(await readFile("docs/API.md", "utf8"));
  const documented = JSON.parse(
    blocks.find((b) => b.lang === "json" && b.text.includes('"topK"'))!.text,
  );
  const res = await request(app)
    .post("/classify?k=3")
    .attach("image", await digitPng(0), "digit.png");
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.label, documented.label);
  assert.deepEqual(res.body.model, documented.model);
  assert.deepEqual(res.body.references, documented.references);
  assert.deepEqual(
    res.body.topK.map((n: { label: string }) => n.label),
    documented.topK.map((n: { label: string }) => n.label),
  );
  assert.ok(Math.abs(res.body.similarity - documented.similarity) < 1e-3);
});

test("the KServe examples of docs/API.md run as written against the shipped models", async () => {
  const doc = await readFile("docs/API.md", "utf8");
  const examples = [
    ...doc.matchAll(
      /curl -s http:\/\/localhost:8080(\/v2\/models\/\S+\/infer)[\s\S]*?-d '([^']+)'/g,
    ),
  ];
  assert.ok(examples.length >= 1, "docs/API.md has a KServe infer example");
  for (const [, path, body] of examples) {
    const request_ = JSON.parse(body.replace("[0, 0, ...]", "[]")) as {
      inputs: { shape: number[]; data: number[] }[];
    };
    const [input] = request_.inputs;
    input.data = new Array(input.shape.reduce((a, b) => a * b, 1)).fill(0);
    const res = await request(app).post(path).send(request_);
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    const name = path.split("/")[3];
    assert.equal(res.body.model_name, name);
    assert.ok(
      doc.includes(`"model_name": "${name}", "model_version": "${res.body.model_version}"`),
    );
    const meta = await request(app).get(`/v2/models/${name}`);
    assert.equal(meta.body.outputs[0].name, res.body.outputs[0].name);
  }
});
