// The HTTP service end to end on tiny real models: classify, predict, errors, models, KServe, metrics.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import sharp from "sharp";
import request from "supertest";
import { softmax } from "../src/service/routes/taylornet.js";
import { PNG_SIGNATURE, pngChunk } from "./png-chunks.js";
import {
  classifierLogits,
  digitJpeg,
  digitPng,
  digitsByClass,
  type Fixture,
  mnistTest,
} from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

let fx: Fixture;
let svc: TestService;
let refs: number[];

before(async () => {
  svc = await startTestService();
  fx = svc.fixture;
  refs = await digitsByClass(1);
});
after(() => svc.stop());

const classify = () => request(svc.app).post("/classify");

test("readiness: 503 before the models load, 200 after", async () => {
  assert.equal((await request(svc.app).get("/healthz")).status, 200);
  assert.equal((await request(svc.app).get("/readyz")).status, 503);
  assert.equal((await request(svc.app).get("/v2/health/ready")).status, 503);
  assert.equal((await request(svc.app).get("/v2/health/live")).status, 200);
  const early = await classify().attach("image", await digitPng(refs[0]), "d.png");
  assert.equal(early.status, 503);
  assert.equal(early.body.error.code, "not_ready");
  assert.equal(await svc.load(), true);
  const ready = await request(svc.app).get("/readyz");
  assert.equal(ready.status, 200);
  assert.equal(ready.body.references, "v1");
  assert.equal((await request(svc.app).get("/v2/health/ready")).status, 200);
});

test("POST /classify labels PNG digits by their nearest reference", async () => {
  for (const [digit, index] of refs.entries()) {
    const res = await classify().attach("image", await digitPng(index), "digit.png");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.label, String(digit));
    assert.ok(res.body.similarity > 0.95);
    assert.equal(res.body.topK.length, 3);
    assert.deepEqual(Object.keys(res.body.topK[0]).sort(), [
      "label",
      "level",
      "referenceId",
      "similarity",
    ]);
    assert.equal(res.body.topK[0].referenceId, digit);
    for (let i = 1; i < 3; i++)
      assert.ok(res.body.topK[i - 1].similarity >= res.body.topK[i].similarity);
    assert.deepEqual(res.body.model, { name: "embedder", version: "e1" });
    assert.deepEqual(res.body.references, { version: "v1", level: 5 });
    assert.deepEqual(res.body.preprocessing, { inverted: false, framed: true });
  }
});

test("a JPEG raw body and a dark-on-light upscaled photo classify too", async () => {
  const jpeg = await classify()
    .set("content-type", "image/jpeg")
    .send(await digitJpeg(refs[7]));
  assert.equal(jpeg.status, 200);
  assert.equal(jpeg.body.label, "7");
  const paper = await classify().attach(
    "image",
    await digitPng(refs[3], { invert: true, scale: 4 }),
    "p.png",
  );
  assert.equal(paper.status, 200);
  assert.equal(paper.body.label, "3");
  assert.equal(paper.body.preprocessing.inverted, true);
  const forced = await classify()
    .query({ invert: "false", frame: "false" })
    .attach("image", await digitPng(refs[3], { invert: true }), "p.png");
  assert.equal(forced.status, 200);
  assert.deepEqual(forced.body.preprocessing, { inverted: false, framed: false });
});

test("several `images` fields answer an array in order; k and level are honoured", async () => {
  const order = [4, 0, 9, 2];
  let req = classify().query({ k: 5, level: 1 });
  for (const d of order) req = req.attach("images", await digitPng(refs[d]), `${d}.png`);
  const res = await req;
  assert.equal(res.status, 200);
  assert.ok(Array.isArray(res.body));
  assert.equal(res.body.length, order.length);
  for (const item of res.body) {
    assert.equal(item.topK.length, 5);
    assert.ok(item.topK.every((t: { level: number }) => t.level === 1));
    assert.deepEqual(item.references, { version: "v1", level: 1 });
  }
  const single = await classify()
    .query({ level: 5 })
    .attach("images", await digitPng(refs[6]), "6.png");
  assert.ok(Array.isArray(single.body));
  assert.equal(single.body[0].label, "6");
});

test("bad queries answer 422 naming the parameter", async () => {
  const png = await digitPng(refs[1]);
  for (const [query, pattern] of [
    [{ k: "0" }, /k/],
    [{ k: "abc" }, /k/],
    [{ k: "1.5" }, /k/],
    [{ level: "6" }, /level/],
    [{ level: "0" }, /level/],
    [{ invert: "maybe" }, /invert/],
    [{ frame: "yes" }, /frame/],
    [{ colour: "red" }, /unknown query parameter colour/],
    ["k=1&k=2", /k/],
  ] as const) {
    const res = await classify().query(query).attach("image", png, "d.png");
    assert.equal(res.status, 422, JSON.stringify(query));
    assert.equal(res.body.error.code, "bad_query");
    assert.match(res.body.error.message, pattern);
  }
});

test("broken, hostile and misaddressed uploads get the right status, never a crash", async () => {
  const png = await digitPng(refs[2]);
  const jpeg = await digitJpeg(refs[2]);
  const onePixel = await sharp(Buffer.alloc(1), { raw: { width: 1, height: 1, channels: 1 } })
    .png()
    .toBuffer();
  const huge = hugePngHeader(50_000, 50_000);
  const cases: [string, () => request.Test, number, string?][] = [
    [
      "corrupt bytes",
      () =>
        classify()
          .set("content-type", "image/png")
          .send(Buffer.from("\x89PNG\r\n\x1a\n garbage garbage")),
      400,
      "undecodable",
    ],
    [
      "truncated JPEG",
      () => classify().attach("image", jpeg.subarray(0, Math.floor(jpeg.length / 2)), "t.jpg"),
      400,
      "undecodable",
    ],
    ["1×1 image", () => classify().attach("image", onePixel, "one.png"), 422, "too_small"],
    [
      "50000×50000 PNG header",
      () => classify().set("content-type", "image/png").send(huge),
      413,
      "too_many_pixels",
    ],
    [
      "empty raw body",
      () => classify().set("content-type", "image/png").send(Buffer.alloc(0)),
      422,
      "missing_field",
    ],
    ["no body at all", () => classify(), 422, "missing_field"],
    [
      "text with an image type",
      () => classify().set("content-type", "image/jpeg").send(Buffer.from("hello, I am text\n")),
      400,
      "undecodable",
    ],
    ["wrong field name", () => classify().attach("picture", png, "d.png"), 422, "unexpected_field"],
    [
      "extra text field",
      () => classify().field("note", "hi").attach("image", png, "d.png"),
      422,
      "unexpected_field",
    ],
    [
      "image and images together",
      () => classify().attach("image", png, "a.png").attach("images", png, "b.png"),
      422,
      "unexpected_field",
    ],
    ["multipart without files", () => classify().field("x", "1"), 422],
    [
      "unsupported content type",
      () => classify().set("content-type", "text/plain").send("hi"),
      415,
      "unsupported_type",
    ],
    [
      "upload over the byte limit",
      () =>
        classify()
          .set("content-type", "image/png")
          .send(Buffer.alloc(1024 * 1024 + 1)),
      413,
      "too_large",
    ],
    [
      "multipart file over the limit",
      () => classify().attach("image", Buffer.alloc(1024 * 1024 + 1), "big.png"),
      413,
      "too_large",
    ],
    [
      "too many images",
      () => {
        let r = classify();
        for (let i = 0; i < 9; i++) r = r.attach("images", png, `${i}.png`);
        return r;
      },
      422,
      "too_many_files",
    ],
  ];
  for (const [name, send, status, code] of cases) {
    const res = await send();
    assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body.error?.message, "string", name);
    if (code) assert.equal(res.body.error.code, code, name);
  }
  assert.equal((await request(svc.app).get("/healthz")).status, 200);
  assert.equal(svc.state.inflight, 0, "every lease was released");
});

test("POST /taylornet/predict: JSON pixels match the hand-computed softmax; images work; bad bodies are 422", async () => {
  const data = await mnistTest();
  const pixels = Array.from(data.images.subarray(refs[5] * 784, (refs[5] + 1) * 784));
  const res = await request(svc.app).post("/taylornet/predict").send({ pixels });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const expected = softmax(classifierLogits(fx.classifierWeights, pixels));
  const got = Object.values(res.body.probabilities) as number[];
  assert.equal(got.length, 10);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-4);
  assert.equal(res.body.label, String(expected.indexOf(Math.max(...expected))));
  assert.deepEqual(res.body.model, { name: "taylornet", version: "t1" });

  const image = await request(svc.app)
    .post("/taylornet/predict")
    .attach("image", await digitPng(refs[5]), "5.png");
  assert.equal(image.status, 200);
  assert.ok(
    Math.abs((Object.values(image.body.probabilities) as number[]).reduce((a, b) => a + b) - 1) <
      1e-5,
  );

  for (const body of [
    { pixels: pixels.slice(1) },
    { pixels, extra: 1 },
    { pixels: pixels.map(() => 2) },
    {},
    [],
  ]) {
    const bad = await request(svc.app).post("/taylornet/predict").send(body);
    assert.equal(bad.status, 422, JSON.stringify(bad.body));
    assert.equal(bad.body.error.code, "bad_body");
  }
  const broken = await request(svc.app)
    .post("/taylornet/predict")
    .set("content-type", "application/json")
    .send("{nope");
  assert.equal(broken.status, 400);
});

test("GET /v1/models and the KServe v2 model paths describe and run the models", async () => {
  const list = await request(svc.app).get("/v1/models");
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.models.map((m: { name: string }) => m.name).sort(), [
    "embedder",
    "taylornet",
  ]);
  const cls = list.body.models.find((m: { name: string }) => m.name === "taylornet");
  assert.deepEqual(cls.inputs[0].shape, ["batch", 28, 28, 1]);
  assert.equal(cls.labels.length, 10);
  assert.deepEqual(cls.metrics, { testAccuracy: 0.1 });
  assert.deepEqual(list.body.references.levels, [1, 2, 3, 4, 5]);

  const meta = await request(svc.app).get("/v2/models/taylornet");
  assert.equal(meta.status, 200);
  assert.deepEqual(meta.body.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 28, 28, 1] }]);
  assert.deepEqual(meta.body.outputs, [{ name: "logits", datatype: "FP32", shape: [-1, 10] }]);
  assert.equal((await request(svc.app).get("/v2/models/nope")).status, 404);
  assert.equal((await request(svc.app).get("/v2/models/embedder/ready")).body.ready, true);

  const data = await mnistTest();
  const two = Array.from(data.images.subarray(refs[1] * 784, (refs[1] + 2) * 784));
  const infer = await request(svc.app)
    .post("/v2/models/taylornet/infer")
    .send({
      id: "q1",
      inputs: [{ name: "input", shape: [2, 28, 28, 1], datatype: "FP32", data: two }],
    });
  assert.equal(infer.status, 200, JSON.stringify(infer.body));
  assert.equal(infer.body.id, "q1");
  assert.deepEqual(infer.body.outputs[0].shape, [2, 10]);
  const expected = classifierLogits(fx.classifierWeights, two.slice(784));
  infer.body.outputs[0].data.slice(10).forEach((v: number, i: number) => {
    assert.ok(Math.abs(v - expected[i]) < 1e-3);
  });
  const emb = await request(svc.app)
    .post("/v2/models/embedder/infer")
    .send({
      inputs: [
        { name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: [two.slice(0, 784)] },
      ],
    });
  assert.equal(emb.status, 200);
  const norm = Math.hypot(...emb.body.outputs[0].data);
  assert.ok(Math.abs(norm - 1) < 1e-4, "embedder serves its normalised output");
  for (const body of [
    { inputs: [{ name: "input", shape: [1, 28, 28], datatype: "FP32", data: two.slice(0, 784) }] },
    {
      inputs: [{ name: "input", shape: [1, 28, 28, 1], datatype: "INT8", data: two.slice(0, 784) }],
    },
    {
      inputs: [{ name: "input", shape: [2, 28, 28, 1], datatype: "FP32", data: two.slice(0, 784) }],
    },
    { inputs: [{ name: "x", shape: [1, 28, 28, 1], datatype: "FP32", data: two.slice(0, 784) }] },
    { inputs: [] },
  ]) {
    const bad = await request(svc.app).post("/v2/models/taylornet/infer").send(body);
    // The Open Inference Protocol answers bad requests with 400 and {"error": "<message>"} (issue #15).
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(typeof bad.body.error, "string");
  }
  assert.equal((await request(svc.app).post("/v2/models/nope/infer").send({})).status, 404);
});

test("unknown routes answer 404 in the error format", async () => {
  const res = await request(svc.app).get("/nope");
  assert.equal(res.status, 404);
  assert.deepEqual(Object.keys(res.body.error).sort(), ["code", "message"]);
  assert.equal((await request(svc.app).get("/classify")).status, 404);
});

test("GET /metrics exposes the cgnn_ metrics in valid exposition format", async () => {
  const res = await request(svc.app).get("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers["content-type"], /text\/plain/);
  const text = res.text;
  for (const name of [
    'cgnn_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/classify",code="200"}',
    'cgnn_http_requests_total{method="POST",route="/classify",code="422"}',
    'cgnn_http_errors_total{route="/classify",code="413",error="too_many_pixels"}',
    'cgnn_inference_duration_seconds_count{model="embedder"}',
    'cgnn_index_search_duration_seconds_count{model="embedder",level="5"}',
    'cgnn_classifications_total{label="7",endpoint="classify"}',
    'cgnn_references_info{version="v1",embedder="embedder"} 1',
    "cgnn_reload_failures_total 0",
    "cgnn_ready 1",
    "process_cpu_seconds_total",
    'cgnn_http_requests_total{method="GET",route="unmatched",code="404"}',
  ]) {
    assert.ok(text.includes(name), `metrics lack ${name}`);
  }
  assert.deepEqual(exposition(text), []);
  const promtool = await promtoolCheck(text);
  if (promtool !== undefined) assert.equal(promtool, "", `promtool: ${promtool}`);
});

/** Lines that break the Prometheus text format (comments, metric names, label syntax, values). */
function exposition(text: string): string[] {
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const label = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
  const sample = new RegExp(
    `^${name}(\\{(${label})(,${label})*\\})? (-?[0-9.]+(e[-+]?[0-9]+)?|[-+]Inf|NaN)( -?[0-9]+)?$`,
  );
  const help = new RegExp(`^# HELP ${name} .*$`);
  const type = new RegExp(`^# TYPE ${name} (counter|gauge|histogram|summary|untyped)$`);
  const bad = text
    .split("\n")
    .filter((line) => line !== "" && !sample.test(line) && !help.test(line) && !type.test(line));
  if (!text.endsWith("\n")) bad.push("(no final newline)");
  return bad;
}

/** promtool's complaints ("" when none), or undefined when promtool is not installed. */
async function promtoolCheck(text: string): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-promtool-"));
  try {
    await writeFile(join(dir, "metrics.txt"), text);
    const { stdout, stderr } = await promisify(execFile)("sh", [
      "-c",
      `promtool check metrics < "${dir}/metrics.txt"`,
    ]);
    return `${stdout}${stderr}`.trim();
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (e.code === 127) return undefined;
    return `${e.stdout ?? ""}${e.stderr ?? ""}`.trim() || String(error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A PNG with a valid signature and IHDR claiming width×height, and no pixel data. */
function hugePngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", Buffer.alloc(16)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}
