// Client mistakes against the real server: malformed multipart, aborted uploads, JPEGs lying about their size, links out of the models folder.
import assert from "node:assert/strict";
import { mkdtemp, rm, symlink, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import request from "supertest";
import { decodeImage } from "../src/data/image.js";
import { updateManifest } from "../src/models/manifest.js";
import { initWeights } from "../src/nn/weights.js";
import { writeOnnxModel } from "../src/onnx/export.js";
import { BOUNDARY, closing, filePart, listen, MULTIPART_TYPE, startPost } from "./raw-http.js";
import { classifierSpec, digitJpeg, digitPng, digitsByClass } from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

let svc: TestService;
let png: Buffer;

before(async () => {
  // The default engine (decoding in the pool workers). 5000×4999 must pass the per-image and
  // per-request pixel limits to reach the decoder.
  svc = await startTestService({ engine: "pool", maxImagePixels: 30_000_000 });
  assert.equal(await svc.load(), true);
  png = await digitPng((await digitsByClass(1))[7]);
});
after(() => svc.stop());

const multipart = (path: string, body: Buffer) =>
  request(svc.app).post(path).set("content-type", MULTIPART_TYPE).send(body);

async function metricsText(): Promise<string> {
  return svc.metrics.registry.metrics();
}

test("malformed multipart bodies are 400 bad_multipart, never 500", async () => {
  const longName = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${"x".repeat(20_000)}"; filename="a.png"\r\n\r\n`;
  const cases: [string, Buffer][] = [
    [
      "a 20 KB field name (busboy: Malformed part header)",
      Buffer.concat([Buffer.from(longName), png, Buffer.from("\r\n"), closing()]),
    ],
    [
      "a part header without a colon",
      Buffer.from(`--${BOUNDARY}\r\nnot a header\r\n\r\nabc\r\n--${BOUNDARY}--\r\n`),
    ],
    ["a body cut off inside a file", filePart("image", png).subarray(0, 150)],
  ];
  for (const [name, body] of cases) {
    for (const path of ["/classify", "/taylornet/predict"]) {
      const res = await multipart(path, body);
      assert.equal(res.status, 400, `${name} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "bad_multipart", name);
      assert.match(res.body.error.message, /malformed multipart body/, name);
    }
  }
  const missingBoundary = await request(svc.app)
    .post("/classify")
    .set("content-type", "multipart/form-data")
    .send("x");
  assert.equal(missingBoundary.status, 400);
  assert.equal(missingBoundary.body.error.code, "bad_multipart");
  assert.doesNotMatch(await metricsText(), /error="internal"/);
  assert.equal(svc.logs.filter((l) => l.event === "request_error").length, 0);
});

test("uploads the client aborts (multipart or raw) are client_closed_request (499), not internal", {
  timeout: 15_000,
}, async () => {
  const server = await listen(svc.app);
  const uploads: [string, Buffer][] = [
    [MULTIPART_TYPE, filePart("image", png).subarray(0, 200)],
    ["image/png", png.subarray(0, 100)],
  ];
  try {
    for (const [i, [type, start]] of uploads.entries()) {
      const { req, response } = startPost(server.port, "/classify", {
        "content-type": type,
        "content-length": "100000",
      });
      response.catch(() => {});
      req.write(start);
      await new Promise((ok) => setTimeout(ok, 100));
      req.destroy();
      const end = Date.now() + 5000;
      while (svc.logs.filter((l) => l.event === "request_aborted").length <= i) {
        if (Date.now() > end) assert.fail(`no request_aborted for ${type}`);
        await new Promise((ok) => setTimeout(ok, 20));
      }
    }
  } finally {
    await server.close();
  }
  const aborted = svc.logs.filter((l) => l.event === "request_aborted");
  assert.equal(aborted.length, 2, JSON.stringify(svc.logs));
  for (const entry of aborted) {
    assert.equal(entry.fields.path, "/classify");
    assert.ok(!JSON.stringify(entry.fields).includes("    at "), "no stack trace");
  }
  assert.equal(svc.logs.filter((l) => l.event === "request_error").length, 0);
  const text = await metricsText();
  assert.match(text, /cgnn_http_errors_total\{[^}]*error="client_closed_request"[^}]*\} 2/);
  assert.doesNotMatch(text, /error="internal"/);
  assert.match(text, /cgnn_http_requests_total\{[^}]*code="499"[^}]*\} 2/);
});

/** A 28×28 JPEG whose frame header is rewritten to claim `width` × `height`. */
async function lyingJpeg(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(await digitJpeg((await digitsByClass(1))[5]));
  for (let at = 2; at + 4 <= jpeg.length; at += 2 + jpeg.readUInt16BE(at + 2)) {
    const marker = jpeg[at + 1];
    if (marker >= 0xc0 && marker <= 0xc2) {
      jpeg.writeUInt16BE(height, at + 5);
      jpeg.writeUInt16BE(width, at + 7);
      return jpeg;
    }
  }
  throw new Error("no frame header");
}

test("a JPEG whose header claims 5000×4999 over 28×28 of data is refused as corrupt, not classified", async () => {
  const liar = await lyingJpeg(5000, 4999);
  for (const path of ["/classify", "/taylornet/predict"]) {
    const res = await request(svc.app).post(path).attach("image", liar, "liar.jpg");
    assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, "undecodable");
    assert.match(res.body.error.message, /5000×4999.*cannot hold/);
  }
  await assert.rejects(decodeImage(liar, { maxPixels: 30_000_000 }), /cannot hold/);
});

test("real JPEGs of every common kind still decode: the size floor never refuses an honest file", async () => {
  // Flat images compress best, so they sit closest to the floor of one bit per 8×8 block.
  const flat = sharp({ create: { width: 2000, height: 1500, channels: 3, background: "#fff" } });
  const kinds = [
    await flat.clone().jpeg({ quality: 10 }).toBuffer(),
    await flat.clone().jpeg({ quality: 10, progressive: true }).toBuffer(),
    await flat.clone().jpeg({ quality: 10, chromaSubsampling: "4:4:4" }).toBuffer(),
    await flat.clone().grayscale().jpeg({ quality: 10 }).toBuffer(),
    await flat.clone().jpeg({ quality: 10, optimiseCoding: true, progressive: true }).toBuffer(),
    // mozjpeg's progressive scans with EOB runs come within 4% of the floor: the closest case.
    await flat.clone().jpeg({ quality: 10, mozjpeg: true }).toBuffer(),
    await digitJpeg((await digitsByClass(1))[5], { scale: 8 }),
  ];
  for (const [i, jpeg] of kinds.entries()) {
    const image = await decodeImage(jpeg, { maxPixels: 30_000_000 });
    assert.ok(image.width > 0, `kind ${i}`);
  }
});

test("a manifest file that is a symlink out of the models folder is refused; the old set keeps serving", async () => {
  const outside = await mkdtemp(join(tmpdir(), "cgnn-outside-"));
  try {
    // A different classifier, placed outside and linked in under the name the manifest uses.
    const model = await writeOnnxModel(
      join(outside, "taylornet.onnx"),
      classifierSpec,
      initWeights(classifierSpec, 99),
      { name: "taylornet", version: "t-outside" },
    );
    await unlink(join(svc.fixture.dir, "taylornet.onnx"));
    await symlink(join(outside, "taylornet.onnx"), join(svc.fixture.dir, "taylornet.onnx"));
    await updateManifest(svc.fixture.dir, (m) => {
      m.models.taylornet.sha256 = model.sha256;
      m.models.taylornet.version = "t-outside";
      return m;
    });
    assert.equal(await svc.load(), false);
    const failed = svc.logs.filter((l) => l.event === "reload_failed").at(-1);
    assert.match(
      JSON.stringify(failed?.fields),
      /taylornet\.onnx: resolves to .*outside the models directory/,
    );
    const res = await request(svc.app).post("/taylornet/predict").attach("image", png, "d.png");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.model.version, "t1", "the old set still serves");
  } finally {
    await rm(outside, { recursive: true, force: true });
  }
});
