// The `npm start` entry: listens before the models load, becomes ready, shuts down cleanly; bad config exits 2.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { promisify } from "node:util";
import { startService } from "../src/service/server.js";
import { buildModelsDir, testConfig } from "./service-fixture.js";

test("startService answers 503 at once, 200 once loaded, and closes its sessions", async () => {
  const fixture = await buildModelsDir();
  const events: string[] = [];
  const service = await startService(testConfig(fixture.dir, { engine: "microbatch" }), (e) =>
    events.push(e),
  );
  try {
    const { port } = service.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const early = await fetch(`${url}/readyz`);
    assert.equal(early.status, 503);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal(await service.loaded, true);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.deepEqual(events.slice(0, 3), ["listening", "reload_started", "reload_done"]);
  } finally {
    await service.close();
    await fixture.cleanup();
  }
  assert.equal(service.server.listening, false);
  assert.equal(service.state.ready, false);
});

test("a service whose manifest is missing stays up and not ready", async () => {
  const events: string[] = [];
  const service = await startService(testConfig("/nonexistent-cgnn-models"), (e) => events.push(e));
  try {
    assert.equal(await service.loaded, false);
    const { port } = service.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/classify`, { method: "POST" });
    assert.equal(res.status, 503);
    assert.ok(events.includes("reload_failed"));
  } finally {
    await service.close();
  }
});

test("a bad configuration value ends the server with one line on stderr and exit code 2", async () => {
  const run = promisify(execFile);
  await assert.rejects(
    run(process.execPath, ["--import", "tsx", "src/service/server.ts", "--port", "eighty"], {
      timeout: 20_000,
    }),
    (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.equal(error.stderr?.trim().split("\n").length, 1);
      assert.match(error.stderr ?? "", /cgnn: bad value "eighty" for --port \/ PORT/);
      return true;
    },
  );
});
