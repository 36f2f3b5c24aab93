// The endpoints behind the web page, on the real app with the fixture's tiny models: the page and its
// script, /references and its ETag across a reload, reference PNGs and sheets, /explain, and TaylorNet.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import request from "supertest";
import { decodePlainPng } from "../src/data/png-decode.js";
import { digitPng, digitsByClass, LABELS, mnistTest, writeReferences } from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

let svc: TestService;

before(async () => {
  svc = await startTestService({ engine: "microbatch" });
  assert.equal(await svc.load(), true);
});
after(() => svc.stop());

/** supertest's buffer parser for binary bodies. */
const binary = (res: request.Response, done: (e: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => done(null, Buffer.concat(chunks)));
};

test("GET / serves the page, its bundled script and styles from the service, same-origin only", async () => {
  const page = await request(svc.app).get("/");
  assert.equal(page.status, 200);
  assert.match(page.headers["content-type"], /text\/html/);
  assert.match(page.text, /<script type="module" src="\/web\/app.js">/);
  assert.doesNotMatch(page.text, /https?:\/\//, "no asset from another origin");
  assert.match(page.headers["content-security-policy"], /default-src 'self'/);
  const script = await request(svc.app).get("/web/app.js");
  assert.equal(script.status, 200);
  assert.match(script.headers["content-type"], /javascript/);
  assert.match(script.text, /\/taylornet\/predict/, "the bundle holds the page's code");
  assert.doesNotMatch(script.text, /^import /m, "one self-contained module");
  const again = await request(svc.app).get("/web/app.js");
  assert.equal(again.text, script.text, "the bundle is the same on every request");
  const css = await request(svc.app).get("/web/styles.css");
  assert.equal(css.status, 200);
  assert.match(css.headers["content-type"], /text\/css/);
});

test("/references describes the served set and answers 304 until a reload changes it", async () => {
  const res = await request(svc.app).get("/references");
  assert.equal(res.status, 200);
  assert.equal(res.body.version, "v1");
  assert.deepEqual(res.body.classes, LABELS);
  assert.deepEqual(res.body.shape, [28, 28, 1]);
  assert.deepEqual(
    res.body.levels.map((l: { level: number; count: number }) => [l.level, l.count]),
    [
      [5, 10],
      [4, 20],
      [3, 30],
      [2, 20],
      [1, 40],
    ],
  );
  assert.equal(res.body.levels[0].perClass["3"], 1);
  assert.equal(res.headers.etag, res.body.etag);
  const same = await request(svc.app).get("/references").set("If-None-Match", res.body.etag);
  assert.equal(same.status, 304);
  await writeReferences(svc.fixture.dir, "v2");
  assert.equal(await svc.reloader.reload("test", true), true);
  const changed = await request(svc.app).get("/references").set("If-None-Match", res.body.etag);
  assert.equal(changed.status, 200, "a reload changes the ETag");
  assert.equal(changed.body.version, "v2");
  assert.notEqual(changed.body.etag, res.body.etag);
});

test("reference images are PNGs of the stored pixels; bad levels and ids are 404s that say what exists", async () => {
  const png = await request(svc.app)
    .get("/references/levels/5/images/3.png")
    .buffer(true)
    .parse(binary);
  assert.equal(png.status, 200);
  assert.equal(png.headers["content-type"], "image/png");
  const decoded = decodePlainPng(png.body, 1 << 20);
  assert.ok(decoded);
  assert.deepEqual([decoded.width, decoded.height, decoded.channels], [28, 28, 1]);
  // Level 5 of the fixture is the first test image of each class, in class order.
  const data = await mnistTest();
  const three = (await digitsByClass(1))[3];
  const stored = data.images.subarray(three * 784, (three + 1) * 784);
  decoded.data.forEach((v, i) => {
    assert.ok(Math.abs(v - Math.round(stored[i] * 255)) <= 1, `pixel ${i}`);
  });
  const noLevel = await request(svc.app).get("/references/levels/9/images/0.png");
  assert.equal(noLevel.status, 404);
  assert.match(noLevel.body.error.message, /no level 9 \(levels: 5, 4, 3, 2, 1\)/);
  const noImage = await request(svc.app).get("/references/levels/5/images/10.png");
  assert.equal(noImage.status, 404);
  assert.match(noImage.body.error.message, /0\.png to 9\.png/);
  const sheet = await request(svc.app)
    .get("/references/levels/1/sheet.png?perClass=3&scale=1")
    .buffer(true)
    .parse(binary);
  assert.equal(sheet.status, 200);
  assert.equal(sheet.headers["content-type"], "image/png");
  assert.deepEqual(
    [sheet.body.readUInt32BE(16), sheet.body.readUInt32BE(20)],
    [3 * 30 + 2, 10 * 30 + 2],
    "3 columns, 10 class rows",
  );
  const bad = await request(svc.app).get("/references/levels/1/sheet.png?perClass=0");
  assert.equal(bad.status, 422);
  assert.match(bad.body.error.message, /perClass/);
});

test("/explain returns the input as the model saw it and the nearest references at every level", async () => {
  const index = (await digitsByClass(1, 30))[7];
  const res = await request(svc.app)
    .post("/explain?k=2")
    .attach("image", await digitPng(index, { invert: true, scale: 3 }), "seven.png");
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.preprocessing, { inverted: true, framed: true });
  assert.match(res.body.input.png, /^data:image\/png;base64,/);
  const input = decodePlainPng(Buffer.from(res.body.input.png.split(",")[1], "base64"), 1 << 20);
  assert.deepEqual([input?.width, input?.height], [28, 28]);
  assert.deepEqual(
    res.body.levels.map((l: { level: number }) => l.level),
    [1, 2, 3, 4, 5],
  );
  for (const level of res.body.levels) {
    assert.equal(level.neighbours.length, 2);
    assert.equal(level.label, level.neighbours[0].label);
    assert.ok(level.neighbours[0].similarity >= level.neighbours[1].similarity);
    const image = await request(svc.app).get(level.neighbours[0].image);
    assert.equal(image.status, 200, `${level.neighbours[0].image} is served`);
  }
  const classify = await request(svc.app)
    .post("/classify?level=5&k=1")
    .attach("image", await digitPng(index, { invert: true, scale: 3 }), "seven.png");
  assert.equal(res.body.levels[4].label, classify.body.label, "the same answer as /classify");
  assert.ok(Math.abs(res.body.levels[4].similarity - classify.body.similarity) < 1e-4);
});

test("/explain rejects what is not an image, and bad queries, with the usual errors", async () => {
  const text = await request(svc.app)
    .post("/explain")
    .attach("image", Buffer.from("hello"), "a.txt");
  assert.equal(text.status, 400);
  assert.equal(text.body.error.code, "undecodable");
  const type = await request(svc.app).post("/explain").set("content-type", "text/plain").send("x");
  assert.equal(type.status, 415);
  const k = await request(svc.app)
    .post("/explain?k=99")
    .attach("image", await digitPng(0), "0.png");
  assert.equal(k.status, 422);
  assert.match(k.body.error.message, /query k/);
});

test("/taylornet/coefficients reads the linear coefficients of the served classifier", async () => {
  const res = await request(svc.app).get("/taylornet/coefficients");
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.shape, [28, 28, 1]);
  assert.equal(res.body.classes.length, 10);
  // The fixture classifier is affine in the pixels: logit_o = Σ_i (x_i − 0.1307)/0.3081 · k[i,o] + b_o.
  const kernel = svc.fixture.classifierWeights["2.kernel"].data;
  const bias = svc.fixture.classifierWeights["2.bias"].data;
  for (const o of [0, 4, 9]) {
    const c = res.body.classes[o];
    for (const i of [0, 100, 400, 783]) {
      assert.ok(Math.abs(c.linear[i] - kernel[i * 10 + o] / 0.3081) < 1e-2, `linear ${o},${i}`);
      assert.ok(Math.abs(c.square[i]) < 0.5, "no square term in an affine map");
    }
    let constant = bias[o];
    for (let i = 0; i < 784; i++) constant -= (0.1307 / 0.3081) * kernel[i * 10 + o];
    assert.ok(Math.abs(c.constant - constant) < 1e-3);
    assert.equal(c.pairStrength, null);
  }
  assert.match(res.body.pairsOmitted, /784 inputs need 1229313 probes/);
});

test("/taylornet/polynomial expands the small CG network into its largest terms", async () => {
  const res = await request(svc.app).get("/taylornet/polynomial?top=5");
  assert.equal(res.status, 200);
  assert.equal(res.body.network.name, "cg-4x4-tiny");
  assert.equal(res.body.variables.length, 16);
  const [out] = res.body.outputs;
  assert.equal(out.degree, 4, "two order-2 CG layers compose to degree 4");
  assert.equal(out.top.length, 5);
  const sizes = out.top.map((t: { coefficient: number }) => Math.abs(t.coefficient));
  assert.deepEqual(
    sizes,
    [...sizes].sort((a, b) => b - a),
    "largest first",
  );
  assert.match(out.top[0].monomial, /^x\d\d(\^\d)?(·x\d\d(\^\d)?)*$/);
  const bad = await request(svc.app).get("/taylornet/polynomial?top=0");
  assert.equal(bad.status, 422);
});

test("the endpoints answer 503 with the API's message before models load", async () => {
  const fresh = await startTestService({ engine: "microbatch" });
  try {
    for (const path of [
      "/references",
      "/references/levels/5/images/0.png",
      "/taylornet/coefficients",
    ]) {
      const res = await request(fresh.app).get(path);
      assert.equal(res.status, 503, path);
      assert.equal(res.body.error.code, "not_ready");
    }
    assert.equal(
      (await request(fresh.app).get("/")).status,
      200,
      "the page itself is always served",
    );
  } finally {
    await fresh.stop();
  }
});
