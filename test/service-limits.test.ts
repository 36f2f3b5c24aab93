// Request-wide limits against the real server: body bytes (declared or streamed) and decoded pixels per request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import request from "supertest";
import { loadConfig, requestByteLimit, requestPixelLimit } from "../src/config.js";
import { PNG_SIGNATURE, pngChunk } from "./png-chunks.js";
import { closing, filePart, listen, MULTIPART_TYPE, startPost } from "./raw-http.js";
import { digitPng, digitsByClass } from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

const REQUEST_BYTES = 64 * 1024;
const REQUEST_PIXELS = 100_000;

let svc: TestService;
let server: Awaited<ReturnType<typeof listen>>;

before(async () => {
  svc = await startTestService({
    engine: "microbatch",
    maxRequestBytes: REQUEST_BYTES,
    maxRequestPixels: REQUEST_PIXELS,
  });
  assert.equal(await svc.load(), true);
  server = await listen(svc.app);
});
after(async () => {
  await server.close();
  await svc.stop();
});

/** A PNG whose header declares width × height over a few bytes of data (never decodable). */
function pngHeaderOnly(width: number, height: number): Buffer {
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

test("the request limits default to four full-size images and come from flags or the environment", () => {
  const defaults = loadConfig([], {});
  assert.equal(requestByteLimit(defaults), 4 * defaults.maxUploadBytes + 64 * 1024);
  assert.equal(requestPixelLimit(defaults), 4 * defaults.maxImagePixels);
  const set = loadConfig(["--max-request-bytes", "5000"], { CGNN_MAX_REQUEST_PIXELS: "7000" });
  assert.equal(requestByteLimit(set), 5000);
  assert.equal(requestPixelLimit(set), 7000);
  assert.throws(() => loadConfig(["--max-request-bytes", "0"], {}), /--max-request-bytes/);
});

test("a Content-Length over the request bound is refused with 413 before any of the body is sent", {
  timeout: 10_000,
}, async () => {
  const { req, response } = startPost(server.port, "/classify", {
    "content-type": MULTIPART_TYPE,
    "content-length": String(REQUEST_BYTES + 1),
  });
  req.flushHeaders();
  const res = await response;
  req.destroy();
  assert.equal(res.status, 413);
  assert.equal(JSON.parse(res.body).error.code, "request_too_large");
  assert.equal(res.headers.connection, "close");
});

test("a chunked multipart body is answered 413 as soon as it crosses the bound, not after all of it", {
  timeout: 10_000,
}, async () => {
  // Eight 20 KB files: each under the per-file limit, 160 KB in all against a 64 KB bound.
  const body = Buffer.concat([
    ...Array.from({ length: 8 }, (_, i) => filePart("images", Buffer.alloc(20_000, i), `${i}.png`)),
    closing(),
  ]);
  const { req, response } = startPost(server.port, "/classify", { "content-type": MULTIPART_TYPE });
  let answered = false;
  const res = response.finally(() => {
    answered = true;
  });
  let sent = 0;
  const chunk = 4096;
  while (!answered && sent < body.length) {
    const piece = body.subarray(sent, sent + chunk);
    if (!req.write(piece)) await new Promise((ok) => req.once("drain", ok));
    sent += piece.length;
    await new Promise((ok) => setTimeout(ok, 5));
  }
  const answer = await res;
  req.destroy();
  assert.equal(answer.status, 413, answer.body);
  assert.equal(JSON.parse(answer.body).error.code, "request_too_large");
  assert.ok(sent < body.length, `answered after ${sent} of ${body.length} bytes`);
  assert.ok(sent <= REQUEST_BYTES + 16 * chunk, `answered only after ${sent} bytes`);
  assert.equal((await request(svc.app).get("/healthz")).status, 200);
});

test("images whose headers declare more pixels in all than a request may decode are refused before decoding", async () => {
  // 60 000 pixels each: under the per-image limit, 120 000 together against 100 000. Their data is
  // not decodable, so a 413 (not a 400) shows the sizes were refused before any decoding.
  const fake = pngHeaderOnly(300, 200);
  const both = await request(svc.app)
    .post("/classify")
    .attach("images", fake, "a.png")
    .attach("images", fake, "b.png");
  assert.equal(both.status, 413, JSON.stringify(both.body));
  assert.equal(both.body.error.code, "too_many_pixels");
  assert.match(both.body.error.message, /120000 pixels in all.*100000 allowed per request/);
  const predict = await request(svc.app)
    .post("/taylornet/predict")
    .attach("images", fake, "a.png")
    .attach("images", fake, "b.png");
  assert.equal(predict.status, 413);
  assert.equal(predict.body.error.code, "too_many_pixels");
  const raw = await request(svc.app)
    .post("/classify")
    .set("content-type", "image/png")
    .send(pngHeaderOnly(400, 400));
  assert.equal(raw.status, 413);
  assert.equal(raw.body.error.code, "too_many_pixels");
  // Within the bound: one such image reaches the decoder (and is refused there as corrupt) ...
  const one = await request(svc.app).post("/classify").attach("images", fake, "a.png");
  assert.equal(one.status, 400);
  // ... and real digits classify.
  const png = await digitPng((await digitsByClass(1))[3]);
  const ok = await request(svc.app)
    .post("/classify")
    .attach("images", png, "a.png")
    .attach("images", png, "b.png");
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.length, 2);
});
