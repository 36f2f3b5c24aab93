// The probes answered before Express (src/service/probe-fast-path.ts), against the real app and models: the same
// status, headers and body as the Express routes, counted in the same metrics, and every unusual request left to Express.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import request from "supertest";
import { fastProbes } from "../src/service/probe-fast-path.js";
import { startTestService, type TestService } from "./service-harness.js";

let svc: TestService;

before(async () => {
  svc = await startTestService({ engine: "microbatch" });
  assert.equal(await svc.load(), true);
});
after(() => svc.stop());

/** Headers but the date (and the length of /metrics, whose counters move between two scrapes). */
function headersOf(res: request.Response, path: string): Record<string, string> {
  const varying = path === "/metrics" ? ["date", "content-length"] : ["date"];
  return Object.fromEntries(
    Object.entries(res.headers).filter(([name]) => !varying.includes(name)),
  );
}

test("a plain probe gets the bytes the Express route gives (a query string sends it through Express)", async () => {
  const app = request(svc.app);
  for (const path of ["/healthz", "/readyz", "/metrics"]) {
    const fast = await app.get(path).set("X-Request-Id", "same-id");
    const routed = await app.get(`${path}?via=express`).set("X-Request-Id", "same-id");
    assert.equal(fast.status, 200, path);
    assert.equal(routed.status, fast.status, path);
    assert.deepEqual(headersOf(fast, path), headersOf(routed, path), path);
    if (path !== "/metrics") assert.equal(fast.text, routed.text, path);
    else assert.match(fast.text, /^cgnn_ready 1$/m);
    const head = await app.head(path).set("X-Request-Id", "same-id");
    const routedHead = await app.head(`${path}?via=express`).set("X-Request-Id", "same-id");
    assert.equal(head.status, 200, `HEAD ${path}`);
    assert.deepEqual(headersOf(head, path), headersOf(routedHead, path), `HEAD ${path}`);
    assert.equal(head.text, undefined, `HEAD ${path} has no body`);
  }
  assert.deepEqual((await app.get("/healthz")).body, { status: "ok" });
  const ready = await app.get("/readyz");
  assert.equal(ready.body.status, "ready");
  assert.equal(typeof ready.body.generation, "number");
  assert.equal(
    ready.headers["content-security-policy"],
    "default-src 'none'; frame-ancestors 'none'",
  );
});

test("plain probes never reach Express's router; other requests do", async () => {
  const router = (svc.app as unknown as { router: { handle: (...args: unknown[]) => unknown } })
    .router;
  const handle = router.handle;
  let routed = 0;
  router.handle = function (this: unknown, ...args: unknown[]) {
    routed++;
    return handle.apply(this, args);
  };
  try {
    const app = request(svc.app);
    for (const path of ["/healthz", "/readyz", "/metrics"]) await app.get(path);
    await app.head("/healthz");
    assert.equal(routed, 0);
    await app.get("/healthz?via=express");
    await app.get("/v1/models");
    assert.equal(routed, 2);
  } finally {
    router.handle = handle;
  }
});

test("probes answered first are counted in the request metrics, by route and code", async () => {
  const app = request(svc.app);
  const count = async () => {
    const text = (await app.get("/metrics")).text;
    const line = /^cgnn_http_requests_total\{method="GET",route="\/healthz",code="200"\} (\d+)$/m;
    return Number(line.exec(text)?.[1] ?? 0);
  };
  const before = await count();
  for (let i = 0; i < 3; i++) await app.get("/healthz");
  assert.equal(await count(), before + 3);
  const text = (await app.get("/metrics")).text;
  assert.match(
    text,
    /^cgnn_http_request_duration_seconds_count\{method="GET",route="\/readyz",code="200"\} [1-9]/m,
  );
  assert.match(
    text,
    /^cgnn_http_requests_total\{method="GET",route="\/metrics",code="200"\} [1-9]/m,
  );
});

test("readyz answered first says 503 and why while the service is shutting down", async () => {
  const other = await startTestService({ engine: "microbatch" });
  try {
    assert.equal(await other.load(), true);
    other.state.beginShutdown();
    const res = await request(other.app).get("/readyz");
    const routed = await request(other.app).get("/readyz?via=express");
    assert.equal(res.status, 503);
    assert.equal(res.body.status, "shutting_down");
    assert.equal(res.text, routed.text);
  } finally {
    await other.stop();
  }
});

/** A bare http server with the fast path alone: 599 marks what it left to Express. */
async function bare(
  deps: Partial<Parameters<typeof fastProbes>[0]["config"]> & { keys?: boolean },
) {
  const probe = fastProbes({
    config: { corsOrigins: deps.corsOrigins ?? [], authOpenPaths: deps.authOpenPaths ?? [] },
    state: svc.state,
    metrics: svc.metrics,
    log: () => {},
    keysRequired: deps.keys ?? false,
  });
  const server: Server = createServer((req, res) => {
    if (probe(req, res)) return;
    res.statusCode = 599;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test("anything but a plain GET or HEAD of a probe path is left to Express", async () => {
  const plain = await bare({});
  try {
    const status = async (path: string, init: RequestInit = {}) =>
      (await fetch(`${plain.url}${path}`, init)).status;
    assert.equal(await status("/healthz"), 200);
    assert.equal(await status("/readyz"), 200);
    assert.equal(await status("/metrics"), 200);
    assert.equal(await status("/healthz", { method: "HEAD" }), 200);
    for (const path of ["/healthz?x=1", "/healthz/", "/HEALTHZ", "/classify", "/"]) {
      assert.equal(await status(path), 599, path);
    }
    assert.equal(await status("/healthz", { method: "POST" }), 599);
    assert.equal(await status("/healthz", { method: "OPTIONS" }), 599);
  } finally {
    await plain.close();
  }
  // With CORS on, a request from a page needs the CORS headers Express adds.
  const cors = await bare({ corsOrigins: ["https://page.example"] });
  try {
    const from = (origin?: string) =>
      fetch(`${cors.url}/healthz`, { headers: origin ? { origin } : {} }).then((r) => r.status);
    assert.equal(await from(), 200);
    assert.equal(await from("https://page.example"), 599);
  } finally {
    await cors.close();
  }
  // With API keys on, only the open paths skip the key check.
  const keys = await bare({ keys: true, authOpenPaths: ["/healthz"] });
  try {
    assert.equal((await fetch(`${keys.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${keys.url}/readyz`)).status, 599);
    assert.equal((await fetch(`${keys.url}/metrics`)).status, 599);
  } finally {
    await keys.close();
  }
});
