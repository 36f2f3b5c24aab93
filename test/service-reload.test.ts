// Hot reload: references swapped under concurrent load with zero failures; a broken set keeps the old one; SIGHUP.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import request from "supertest";
import { updateManifest } from "../src/models/manifest.js";
import { digitPng, digitsByClass, writeReferences } from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

let svc: TestService;
let png: Buffer;

before(async () => {
  // The swap logic does not depend on the engine; main-thread micro-batching loads fastest.
  svc = await startTestService({ engine: "microbatch" });
  assert.equal(await svc.load(), true);
  svc.reloader.watch();
  png = await digitPng((await digitsByClass(1))[4]);
});
after(() => svc.stop());

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

async function metric(name: string): Promise<number> {
  const text = await svc.metrics.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}

test("a new reference set written under load is swapped in with zero failed requests", async () => {
  const versions = new Set<string>();
  const failures: string[] = [];
  let done = false;
  let count = 0;
  const client = async () => {
    while (!done) {
      const res = await request(svc.app).post("/classify").attach("image", png, "4.png");
      count++;
      if (res.status !== 200 || res.body.label !== "4")
        failures.push(`${res.status} ${JSON.stringify(res.body)}`);
      else versions.add(res.body.references.version);
    }
  };
  const clients = Array.from({ length: 6 }, client);
  await until("some traffic", () => count > 10);
  const firstGeneration = svc.state.current!.generation;
  await writeReferences(svc.fixture.dir, "v2");
  await until("the v2 set to serve", () => versions.has("v2"));
  const after = count;
  await until("traffic on v2", () => count > after + 10);
  done = true;
  await Promise.all(clients);
  assert.deepEqual(failures, []);
  assert.deepEqual([...versions].sort(), ["v1", "v2"]);
  assert.ok(svc.state.current!.generation > firstGeneration);
  await until("the old set to close after draining", () => svc.state.draining === 0);
  assert.equal(await metric("cgnn_reload_failures_total"), 0);
  const info = await svc.metrics.registry.getSingleMetricAsString("cgnn_references_info");
  assert.match(info, /version="v2"/);
  assert.doesNotMatch(info, /version="v1"/);
});

test("a broken new set keeps the old one serving, logs it and counts it", async () => {
  const before = await metric("cgnn_reload_failures_total");
  await writeFile(join(svc.fixture.dir, "references-v3.safetensors"), "not a reference set");
  await updateManifest(svc.fixture.dir, (m) => {
    m.references = { ...m.references!, file: "references-v3.safetensors", version: "v3" };
    return m;
  });
  await until(
    "the failure to be counted",
    async () => (await metric("cgnn_reload_failures_total")) > before,
  );
  const failed = svc.logs.find((l) => l.event === "reload_failed");
  assert.ok(failed);
  assert.match(String(failed.fields.error), /references-v3\.safetensors: sha256 mismatch/);
  const res = await request(svc.app).post("/classify").attach("image", png, "4.png");
  assert.equal(res.status, 200);
  assert.equal(res.body.references.version, "v2");
  assert.equal((await request(svc.app).get("/readyz")).status, 200);
});

test("SIGHUP reloads even an unchanged manifest once it is valid again", async () => {
  await writeReferences(svc.fixture.dir, "v4");
  await until("v4 to serve", () => svc.state.current?.referencesEntry.version === "v4");
  const generation = svc.state.current!.generation;
  process.emit("SIGHUP");
  await until("a new generation", () => svc.state.current!.generation > generation);
  assert.equal(svc.state.current!.referencesEntry.version, "v4");
});
