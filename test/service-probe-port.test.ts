// --probe-port: kubelet's probes on their own listener and thread, against the real service: the main port's answers,
// readiness that follows loading and shutdown, a stuck main event loop that fails them, and a port that cannot be bound.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";
import { startProbeListener } from "../src/service/probe-listener.js";
import { startService } from "../src/service/server.js";
import { ServingState } from "../src/service/state.js";
import { buildModelsDir, testConfig } from "./service-fixture.js";

const until = async (what: string, check: () => Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test("the probe port answers /healthz and /readyz as the main port does, and nothing else", async () => {
  const fixture = await buildModelsDir();
  const service = await startService(
    testConfig(fixture.dir, { engine: "microbatch", probePort: 0, shutdownDelayMs: 1_000 }),
    () => {},
  );
  try {
    assert.ok(service.probePort, "a port was bound");
    const main = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
    const probes = `http://127.0.0.1:${service.probePort}`;
    assert.notEqual(main, probes);
    const live = await fetch(`${probes}/healthz`, { headers: { "x-request-id": "kubelet-1" } });
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: "ok" });
    assert.equal(live.headers.get("x-request-id"), "kubelet-1");
    assert.equal(live.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(live.headers.get("x-content-type-options"), "nosniff");
    assert.equal((await fetch(`${probes}/readyz`)).status, 503, "not ready before loading");
    assert.equal(await service.loaded, true);
    // Published within a heartbeat: the same body as the main port's.
    await until("readyz 200 on the probe port", async () => {
      return (await fetch(`${probes}/readyz`)).status === 200;
    });
    assert.equal(
      await (await fetch(`${probes}/readyz`)).text(),
      await (await fetch(`${main}/readyz`)).text(),
    );
    const head = await fetch(`${probes}/healthz`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const metrics = await fetch(`${probes}/metrics`);
    assert.equal(metrics.status, 404);
    assert.equal(((await metrics.json()) as { error: { code: string } }).error.code, "not_found");
    const post = await fetch(`${probes}/healthz`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");

    // Draining: readiness fails on the probe port at once, liveness holds.
    const closing = service.close();
    const draining = await fetch(`${probes}/readyz`);
    assert.equal(draining.status, 503);
    assert.equal(((await draining.json()) as { status: string }).status, "shutting_down");
    assert.equal((await fetch(`${probes}/healthz`)).status, 200);
    await closing;
    await assert.rejects(fetch(`${probes}/healthz`), "the probe port closes with the service");
  } finally {
    await service.close();
    await fixture.cleanup();
  }
});

test("a main event loop stuck past the stall limit fails both probes on the probe port", async () => {
  const listener = await startProbeListener(
    { host: "127.0.0.1", corsOrigins: [], probePort: 0 },
    new ServingState(),
    1_000,
  );
  try {
    const url = `http://127.0.0.1:${listener.port}`;
    // A busy test runner may itself delay a heartbeat past a limit: wait for a live answer first.
    await until("healthz 200", async () => (await fetch(`${url}/healthz`)).status === 200);
    // execFileSync blocks this thread (no heartbeat) while a child asks the probe thread.
    const ask = (path: string) =>
      execFileSync(process.execPath, [
        "-e",
        `setTimeout(async () => { const r = await fetch(${JSON.stringify(url + path)}); process.stdout.write(r.status + " " + await r.text()); }, 1600)`,
      ]).toString();
    const [status, body] = ask("/healthz").split(/ (.*)/s);
    assert.equal(status, "503");
    assert.equal(JSON.parse(body).status, "stalled");
    assert.match(JSON.parse(body).reason, /main event loop has not run for \d+ ms/);
    assert.match(ask("/readyz"), /^503 .*stalled/);
    // Running again, the heartbeat is back within one period.
    await until("healthz 200 again", async () => (await fetch(`${url}/healthz`)).status === 200);
  } finally {
    await listener.close();
  }
});

test("a probe port that cannot be bound stops the start with a ConfigError", async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    await assert.rejects(
      startService(testConfig("/nonexistent-cgnn-models", { probePort: port }), () => {}),
      (error: Error) => error instanceof ConfigError && /--probe-port/.test(error.message),
    );
  } finally {
    taken.close();
  }
});

test("--probe-port / CGNN_PROBE_PORT is read, and may not be the service's own port", () => {
  assert.equal(loadConfig([], {}).probePort, undefined);
  assert.equal(loadConfig(["--probe-port", "8081"], {}).probePort, 8081);
  assert.equal(loadConfig([], { CGNN_PROBE_PORT: "9001" }).probePort, 9001);
  assert.throws(
    () => loadConfig(["--port", "8080", "--probe-port", "8080"], {}),
    (e: Error) => e instanceof ConfigError && /own port/.test(e.message),
  );
  assert.throws(() => loadConfig(["--probe-port", "70000"], {}), ConfigError);
});
