// Who may call the service, against the real app: optional API keys (open probes, constant-time checks, a keys
// file), per-client rate limits and CORS for pages on other origins; all of it off by default.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import request from "supertest";
import { ConfigError, loadConfig } from "../src/config.js";
import { loadApiKeys } from "../src/service/middleware/api-keys.js";
import { digitPng, digitsByClass } from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

const KEY = "k-0123456789abcdef";
const OTHER = "k-fedcba9876543210";
/** Used by the rate-limit test only, so that its bucket starts full. */
const LIMITED = "k-limited-0000000000";
const PAGE = "https://page.example";

let svc: TestService;
let png: Buffer;

before(async () => {
  svc = await startTestService({
    engine: "microbatch",
    apiKeys: [KEY, OTHER, LIMITED],
    rateLimit: 1,
    rateLimitBurst: 3,
    corsOrigins: [PAGE],
  });
  assert.equal(await svc.load(), true);
  png = await digitPng((await digitsByClass(1))[2]);
});
after(() => svc.stop());

test("with keys configured, requests need one (Bearer or X-API-Key); probes stay open, /metrics does not", async () => {
  const app = request(svc.app);
  const none = await app
    .post("/classify")
    .set("X-Request-Id", "no-key")
    .attach("image", png, "2.png");
  assert.equal(none.status, 401);
  const refused = svc.logs.find((l) => l.fields.requestId === "no-key");
  assert.equal(refused?.event, "request_completed", "refused requests are access-logged");
  assert.deepEqual(refused?.fields.res, { status: 401 });
  assert.equal(refused?.fields.level, "warn");
  assert.equal(none.body.error.code, "unauthorized");
  assert.match(none.headers["www-authenticate"], /^Bearer realm="cgnn"/);
  const wrong = await app.get("/v1/models").set("Authorization", `Bearer ${KEY}x`);
  assert.equal(wrong.status, 401);
  assert.match(wrong.body.error.message, /not valid/);
  // The protocol's error body under /v2.
  const v2 = await app.get("/v2/models/embedder").set("X-API-Key", "short");
  assert.equal(v2.status, 401);
  assert.equal(typeof v2.body.error, "string");

  const bearer = await app
    .post("/classify")
    .set("Authorization", `Bearer ${KEY}`)
    .attach("image", png, "2.png");
  assert.equal(bearer.status, 200);
  assert.equal(bearer.body.label, "2");
  const header = await app.get("/v1/models").set("X-API-Key", OTHER);
  assert.equal(header.status, 200);

  assert.equal((await app.get("/healthz")).status, 200);
  assert.equal((await app.get("/readyz")).status, 200);
  assert.equal((await app.get("/metrics")).status, 401);
  assert.equal((await app.get("/metrics").set("X-API-Key", KEY)).status, 200);
});

test("/metrics can be made open, and the keys file is read (comments and blank lines skipped)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-keys-"));
  const file = join(dir, "keys");
  await writeFile(file, `# operators\n${KEY}\n\n  ${OTHER}  \n`);
  const open = await startTestService({
    apiKeysFile: file,
    authOpenPaths: ["/healthz", "/readyz", "/metrics"],
  });
  try {
    assert.deepEqual(loadApiKeys({ apiKeys: [], apiKeysFile: file }), [KEY, OTHER]);
    assert.equal((await request(open.app).get("/metrics")).status, 200);
    assert.equal((await request(open.app).get("/v1/models")).status, 401);
    const keyed = await request(open.app).get("/v1/models").set("X-API-Key", OTHER);
    assert.equal(keyed.status, 503, "authorised; models not loaded in this one");
  } finally {
    await open.stop();
    await rm(dir, { recursive: true, force: true });
  }
  await assert.rejects(
    async () => loadApiKeys({ apiKeys: [], apiKeysFile: join(dir, "gone") }),
    /cannot read the API keys file/,
  );
  assert.throws(() => loadApiKeys({ apiKeys: ["short"] }), ConfigError);
});

test("keys, limits, CORS and provenance are settings; keys come from the environment only", () => {
  const c = loadConfig(
    [
      "--rate-limit",
      "5",
      "--cors-origins",
      "https://a.example, https://b.example",
      "--auth-open-paths",
      "/healthz",
      "--log-level",
      "warn",
      "--expose-provenance",
      "true",
    ],
    { CGNN_API_KEYS: `${KEY},${OTHER}` },
  );
  assert.deepEqual(c.apiKeys, [KEY, OTHER]);
  assert.equal(c.rateLimit, 5);
  assert.deepEqual(c.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.deepEqual(c.authOpenPaths, ["/healthz"]);
  assert.equal(c.logLevel, "warn");
  assert.equal(c.exposeProvenance, true);
  const d = loadConfig([], {});
  assert.deepEqual(
    [d.apiKeys, d.rateLimit, d.corsOrigins, d.exposeProvenance, d.logLevel],
    [[], 0, [], false, "info"],
    "all off by default",
  );
  assert.deepEqual(d.authOpenPaths, ["/healthz", "/readyz"]);
  assert.throws(() => loadConfig(["--api-keys", KEY], {}), ConfigError);
  assert.throws(() => loadConfig(["--log-level", "loud"], {}), /--log-level \/ CGNN_LOG_LEVEL/);
  assert.throws(() => loadConfig([], { CGNN_RATE_LIMIT: "-1" }), /CGNN_RATE_LIMIT/);
});

test("each client has its own rate limit: past the burst a 429 with Retry-After; probes are never limited", async () => {
  const app = request(svc.app);
  const statuses: number[] = [];
  let last: request.Response | undefined;
  for (let i = 0; i < 5; i++) {
    last = await app.get("/v1/models").set("X-API-Key", LIMITED);
    statuses.push(last.status);
  }
  // Burst 3 at 1/s: the three first pass (a refill may add one while the test runs).
  assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
  assert.equal(statuses.at(-1), 429, statuses.join());
  assert.equal(last?.body.error.code, "rate_limited");
  assert.ok(Number(last?.headers["retry-after"]) >= 1);
  assert.equal(last?.headers["ratelimit-limit"], "3");
  assert.equal(last?.headers["ratelimit-remaining"], "0");
  // Another key is another client.
  assert.equal((await app.get("/v1/models").set("X-API-Key", KEY)).status, 200);
  for (let i = 0; i < 10; i++) assert.equal((await app.get("/healthz")).status, 200);
});

test("CORS: the configured origin may call the API (preflight answered without a key); others get nothing", async () => {
  const app = request(svc.app);
  const preflight = await app
    .options("/classify")
    .set("Origin", PAGE)
    .set("Access-Control-Request-Method", "POST")
    .set("Access-Control-Request-Headers", "authorization, x-request-id");
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers["access-control-allow-origin"], PAGE);
  assert.match(preflight.headers["access-control-allow-methods"], /POST/);
  assert.match(preflight.headers["access-control-allow-headers"], /Authorization/);
  assert.match(preflight.headers.vary, /Origin/);

  const call = await app
    .post("/classify")
    .set("Origin", PAGE)
    .set("Authorization", `Bearer ${KEY}`)
    .attach("image", png, "2.png");
  assert.equal(call.status, 200);
  assert.equal(call.headers["access-control-allow-origin"], PAGE);
  assert.match(call.headers["access-control-expose-headers"], /X-Request-Id/);
  assert.equal(call.headers["cross-origin-resource-policy"], "cross-origin");

  const stranger = await app
    .options("/classify")
    .set("Origin", "https://evil.example")
    .set("Access-Control-Request-Method", "POST");
  assert.equal(stranger.status, 403);
  assert.equal(stranger.headers["access-control-allow-origin"], undefined);
  const simple = await app.get("/healthz").set("Origin", "https://evil.example");
  assert.equal(simple.headers["access-control-allow-origin"], undefined);
});
