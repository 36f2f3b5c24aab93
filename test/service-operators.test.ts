// What operators rely on, against the real app and models: request ids in responses and log lines, access
// logs that skip probes, security headers, metrics by Prometheus convention, provenance kept in, and a failed
// reload that is retried until a good set arrives while the old one serves.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import request from "supertest";
import { updateManifest } from "../src/models/manifest.js";
import { createLogger } from "../src/service/log.js";
import { startServiceChild } from "./service-child.js";
import { digitPng, digitsByClass } from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

let svc: TestService;
let png: Buffer;

before(async () => {
  svc = await startTestService({ engine: "microbatch" });
  assert.equal(await svc.load(), true);
  png = await digitPng((await digitsByClass(1))[3]);
});
after(() => svc.stop());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

test("every response carries a request id: the client's, a traceparent's trace id, or a new UUID", async () => {
  const app = request(svc.app);
  const generated = await app.get("/healthz");
  assert.match(generated.headers["x-request-id"], UUID);
  const other = await app.get("/healthz");
  assert.notEqual(other.headers["x-request-id"], generated.headers["x-request-id"]);

  const given = await app.get("/v1/models").set("X-Request-Id", "lb-7f3a.42");
  assert.equal(given.headers["x-request-id"], "lb-7f3a.42");

  const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const traced = await app.get("/readyz").set("traceparent", `00-${trace}-00f067aa0ba902b7-01`);
  assert.equal(traced.headers["x-request-id"], trace);

  // Header injection, oversize and all-zero trace ids are not taken over.
  for (const [name, value] of [
    ["X-Request-Id", "a b"],
    ["X-Request-Id", "x".repeat(129)],
    ["traceparent", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
  ]) {
    const res = await app.get("/healthz").set(name, value);
    assert.match(res.headers["x-request-id"], UUID, `${name}: ${value}`);
  }
  // Errors too, in both error formats.
  const missing = await app.get("/nope").set("X-Request-Id", "req-404");
  assert.equal(missing.status, 404);
  assert.equal(missing.headers["x-request-id"], "req-404");
  const kserve = await app.get("/v2/models/nope").set("X-Request-Id", "req-v2");
  assert.equal(kserve.status, 404);
  assert.equal(kserve.headers["x-request-id"], "req-v2");
  assert.equal(typeof kserve.body.error, "string");
});

test("access lines are JSON with the request id, level by status; probes and /metrics log nothing", async () => {
  const app = request(svc.app);
  const before = svc.logs.length;
  await app.get("/healthz").set("X-Request-Id", "probe-1");
  await app.get("/readyz").set("X-Request-Id", "probe-2");
  await app.get("/metrics").set("X-Request-Id", "probe-3");
  const ok = await app.post("/classify").set("X-Request-Id", "ok-1").attach("image", png, "3.png");
  assert.equal(ok.status, 200);
  const bad = await app.post("/classify?k=0").set("X-Request-Id", "bad-1").attach("image", png);
  assert.equal(bad.status, 422);
  const lines = svc.logs.slice(before);
  for (const id of ["probe-1", "probe-2", "probe-3"]) {
    assert.ok(!lines.some((l) => l.fields.requestId === id), `a probe (${id}) was logged`);
  }
  const line = (id: string) => lines.find((l) => l.fields.requestId === id);
  const okLine = line("ok-1");
  assert.ok(okLine, JSON.stringify(lines));
  assert.equal(okLine.event, "request_completed");
  assert.equal(okLine.fields.level, "info");
  assert.deepEqual(okLine.fields.req, {
    method: "POST",
    url: "/classify",
    remoteAddress: (okLine.fields.req as { remoteAddress: string }).remoteAddress,
  });
  assert.deepEqual(okLine.fields.res, { status: 200 });
  assert.equal(typeof okLine.fields.ms, "number");
  assert.ok(!Number.isNaN(Date.parse(String(okLine.fields.time))), "an ISO time");
  assert.equal(line("bad-1")?.fields.level, "warn");
});

test("the log level is configurable: below it nothing is written", () => {
  const lines: string[] = [];
  const log = createLogger("warn", { write: (line: string) => void lines.push(line) });
  log("listening", { port: 1 });
  log("request_aborted", { requestId: "a" });
  log("reload_failed", { error: "x" });
  const parsed = lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    parsed.map((l) => [l.level, l.event]),
    [
      ["warn", "request_aborted"],
      ["error", "reload_failed"],
    ],
  );
  assert.equal(parsed[0].requestId, "a");
});

test("npm start writes pino JSON lines at the configured level, with the request id on the access line", async () => {
  const child = await startServiceChild(svc.fixture.dir, { CGNN_ENGINE: "microbatch" }, [
    "--log-level",
    "debug",
  ]);
  try {
    await child.ready();
    const answer = await fetch(`${child.url}/classify`, {
      method: "POST",
      headers: { "content-type": "image/png", "x-request-id": "child-1" },
      body: png,
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("x-request-id"), "child-1");
    await fetch(`${child.url}/healthz`, { headers: { "x-request-id": "child-probe" } });
    await until("the access line", () => child.logs.some((l) => l.requestId === "child-1"));
    const access = child.logs.find((l) => l.requestId === "child-1")!;
    assert.equal(access.event, "request_completed");
    assert.equal(access.level, "info");
    assert.ok(!Number.isNaN(Date.parse(String(access.time))));
    assert.deepEqual(access.res, { status: 200 });
    const events = child.logs.map((l) => l.event);
    for (const event of ["listening", "reload_files_verified", "model_loaded", "reload_done"]) {
      assert.ok(events.includes(event), `no ${event} at debug: ${events.join()}`);
    }
    assert.ok(!child.logs.some((l) => l.requestId === "child-probe"), "probes are not logged");
    assert.ok(!child.logs.some((l) => l.event === "text"), "every line is JSON");
    child.child.kill("SIGTERM");
    assert.equal(await child.exited, 0);
    assert.ok(child.logs.some((l) => l.event === "shutdown_done"));
  } finally {
    child.kill();
  }
});

test("security headers on API answers and the page's own CSP on the page", async () => {
  const app = request(svc.app);
  for (const path of ["/healthz", "/v1/models", "/nope"]) {
    const res = await app.get(path);
    assert.equal(res.headers["x-content-type-options"], "nosniff", path);
    assert.equal(res.headers["x-frame-options"], "DENY", path);
    assert.equal(res.headers["referrer-policy"], "no-referrer", path);
    assert.equal(
      res.headers["content-security-policy"],
      "default-src 'none'; frame-ancestors 'none'",
    );
    assert.equal(res.headers["cross-origin-resource-policy"], "same-origin", path);
    assert.equal(res.headers["x-powered-by"], undefined);
  }
  const page = await app.get("/");
  assert.equal(page.status, 200);
  assert.match(page.headers["content-security-policy"], /script-src 'self'/);
  assert.match(page.headers["content-security-policy"], /img-src 'self' data: blob:/);
  // Without CGNN_CORS_ORIGINS no cross-origin reader is allowed.
  const cross = await app.get("/v1/models").set("Origin", "https://elsewhere.example");
  assert.equal(cross.headers["access-control-allow-origin"], undefined);
});

test("metrics follow Prometheus conventions: code is the status, standard process names, build info", async () => {
  await request(svc.app).post("/classify").attach("image", png, "3.png");
  const text = await (await request(svc.app).get("/metrics")).text;
  for (const line of [
    'cgnn_http_requests_total{method="POST",route="/classify",code="200"}',
    'cgnn_http_request_duration_seconds_bucket{le="30",method="POST",route="/classify",code="200"}',
    "# TYPE cgnn_http_requests_in_flight gauge",
    // The scrape itself is in flight.
    "cgnn_http_requests_in_flight 1",
    'cgnn_inference_batch_size_bucket{le="1",model="embedder"}',
    'cgnn_inference_queue_images{model="embedder"} 0',
    'cgnn_reload_duration_seconds_count{result="success"} 1',
    "cgnn_reload_last_failed 0",
    "# TYPE cgnn_reload_last_success_timestamp_seconds gauge",
    'cgnn_build_info{version="0.1.0",revision="unknown",nodejs_version="',
    "process_cpu_seconds_total ",
    "process_resident_memory_bytes ",
    "nodejs_heap_size_used_bytes ",
    "nodejs_eventloop_lag_seconds ",
  ]) {
    assert.ok(text.includes(line), `metrics lack ${line}`);
  }
  assert.doesNotMatch(text, /^cgnn_(process|nodejs)_/m, "default metrics under their own names");
  assert.doesNotMatch(text, /status="/, "the status label is code");
  const success = /^cgnn_reload_last_success_timestamp_seconds (\S+)$/m.exec(text);
  assert.ok(Math.abs(Number(success?.[1]) - Date.now() / 1000) < 600);
});

test("/v1/models and /references leave out training commands and run paths unless configured", async () => {
  await updateManifest(svc.fixture.dir, (m) => {
    const embedder = m.models.embedder;
    embedder.command = "tsx scripts/export-onnx.ts --checkpoint runs/e/checkpoint.safetensors";
    embedder.metrics = {
      checkpoint: "checkpoint.safetensors",
      config: { command: "tsx scripts/train-embedder.ts --out runs/e", lr: 0.002 },
      run: "/home/me/cgnn/runs/e",
      test: { accuracy: 0.99 },
      classes: ["T-shirt/top", "Trouser"],
    };
    m.references = { ...m.references!, command: "tsx scripts/publish-references.ts" };
    m.references.metrics = { evaluation: { embedder: "runs/e/checkpoint.safetensors", acc: 0.9 } };
    return m;
  });
  assert.equal(await svc.reloader.reload("test", true), true);
  const models = (await request(svc.app).get("/v1/models")).body;
  const text = JSON.stringify(models);
  assert.doesNotMatch(text, /command|runs\/|checkpoint\.safetensors|\/home\//);
  const metrics = models.models.find((m: { name: string }) => m.name === "embedder").metrics;
  assert.deepEqual(metrics, {
    config: { lr: 0.002 },
    test: { accuracy: 0.99 },
    classes: ["T-shirt/top", "Trouser"],
  });
  const refs = (await request(svc.app).get("/references")).body;
  assert.equal(refs.command, null);
  assert.deepEqual(refs.metrics, { evaluation: { acc: 0.9 } });

  const open = await startTestService({ engine: "microbatch", exposeProvenance: true });
  try {
    await updateManifest(open.fixture.dir, (m) => {
      m.models.embedder.metrics = { run: "runs/e", config: { command: "tsx x.ts" } };
      return m;
    });
    assert.equal(await open.load(), true);
    const body = (await request(open.app).get("/v1/models")).body;
    const embedder = body.models.find((m: { name: string }) => m.name === "embedder");
    assert.deepEqual(embedder.metrics, { run: "runs/e", config: { command: "tsx x.ts" } });
  } finally {
    await open.stop();
  }
});

test("a set with a bad sha256 or a missing file fails before any session opens; the old set serves", async () => {
  const good = svc.state.current!.referencesEntry;
  const serving = svc.state.current!.generation;
  for (const broken of [{ sha256: "0".repeat(64) }, { file: "missing.safetensors" }]) {
    const before = svc.logs.length;
    await updateManifest(svc.fixture.dir, (m) => {
      m.references = { ...good, ...broken };
      return m;
    });
    assert.equal(await svc.reloader.reload("test", true), false);
    const events = svc.logs.slice(before).map((l) => l.event);
    assert.ok(events.includes("reload_failed"), events.join());
    assert.ok(!events.includes("reload_files_verified"), events.join());
    assert.ok(!events.includes("model_loaded"), `a session was opened: ${events.join()}`);
    assert.equal(svc.state.current!.generation, serving);
    assert.equal((await request(svc.app).get("/readyz")).status, 200);
  }
  // The same check passes for a good set, which then opens its sessions.
  const before = svc.logs.length;
  await updateManifest(svc.fixture.dir, (m) => {
    m.references = good;
    return m;
  });
  assert.equal(await svc.reloader.reload("test", true), true);
  const events = svc.logs.slice(before).map((l) => l.event);
  assert.ok(events.indexOf("reload_files_verified") < events.indexOf("model_loaded"));
});

test("a failed reload is reported, and retried with backoff (no watch, no signal) until a good set arrives", async () => {
  const app = request(svc.app);
  const good = svc.state.current!.referencesEntry;
  const serving = svc.state.current!.generation;
  const file = join(svc.fixture.dir, good.file);
  // The manifest names a file whose bytes do not match: what a half-finished copy looks like.
  const bytes = await readFile(file);
  await writeFile(join(svc.fixture.dir, "refs-next.safetensors"), bytes.subarray(0, 100));
  await updateManifest(svc.fixture.dir, (m) => {
    m.references = { ...good, file: "refs-next.safetensors" };
    return m;
  });
  assert.equal(await svc.reloader.reload("test", true), false);

  const status = (await app.get("/v1/models")).body.reload;
  assert.equal(status.status, "failed");
  assert.match(status.error, /refs-next\.safetensors: sha256 mismatch/);
  assert.equal(status.failures, 1);
  assert.ok(Date.parse(status.nextRetryAt) > Date.parse(status.lastAttemptAt));
  assert.match((await app.get("/metrics")).text, /^cgnn_reload_last_failed 1$/m);
  assert.equal((await app.get("/readyz")).status, 200);
  const classified = await app.post("/classify").attach("image", png, "3.png");
  assert.equal(classified.status, 200);
  assert.equal(classified.body.references.version, good.version);

  // Retried on its own, waiting longer each time (200 ms, then 400 ms in the test config).
  await until("two more attempts", () => svc.state.reload.failures >= 3);
  const retried = svc.logs.filter((l) => l.event === "reload_failed").slice(-3);
  assert.deepEqual(
    retried.map((l) => l.fields.retryInMs),
    [200, 400, 800],
  );
  assert.ok(svc.state.reload.reason === "retry");

  // The rest of the file arrives: the next retry swaps it in.
  await writeFile(join(svc.fixture.dir, "refs-next.safetensors"), bytes);
  await until("the new set to serve", () => svc.state.current!.generation > serving);
  const ok = (await app.get("/v1/models")).body.reload;
  assert.equal(ok.status, "ok");
  assert.equal(ok.reason, "retry");
  assert.equal(ok.failures, 0);
  assert.equal(ok.error, undefined);
  assert.match((await app.get("/metrics")).text, /^cgnn_reload_last_failed 0$/m);
  assert.equal(svc.state.current!.referencesEntry.file, "refs-next.safetensors");
  const again = await app.post("/classify").attach("image", png, "3.png");
  assert.equal(again.status, 200);
});
