// Hot reload of a models volume updated the way kubelet updates ConfigMap/projected volumes: a new timestamped
// folder, a `..data_tmp` link to it renamed over `..data`, then the visible links; no event names manifest.json.
// scripts/publish-models-volume.ts does the same onto a shared volume, after checking the set.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { DATA_LINK, publishModelsVolume } from "../src/models/volume-publish.js";
import { startService } from "../src/service/server.js";
import {
  buildModelsDir,
  digitPng,
  digitsByClass,
  testConfig,
  writeReferences,
} from "./service-fixture.js";
import { startTestService } from "./service-harness.js";

const DATA = "..data";

/** Lays `files` out under `mount` as kubelet does: `..<stamp>/`, `..data -> ..<stamp>`, `name -> ..data/name`. */
async function kubeletSwap(mount: string, source: string, stamp: string): Promise<void> {
  const names = (await readdir(source)).filter((n) => !n.startsWith("."));
  const dir = `..${stamp}`;
  await cp(source, join(mount, dir), { recursive: true });
  const previous = await readlink(join(mount, DATA)).catch(() => undefined);
  await symlink(dir, join(mount, "..data_tmp"));
  await rename(join(mount, "..data_tmp"), join(mount, DATA));
  const visible = new Set((await readdir(mount)).filter((n) => !n.startsWith(".")));
  for (const name of names)
    if (!visible.has(name)) await symlink(join(DATA, name), join(mount, name));
  if (previous) await rm(join(mount, previous), { recursive: true });
  for (const name of visible) if (!names.includes(name)) await rm(join(mount, name));
}

const until = async (what: string, check: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

test("a kubelet-style ..data swap of the models volume is reloaded under load with zero failed requests", async () => {
  const fixture = await buildModelsDir();
  const mount = join(fixture.dir, "mount");
  const staging = join(fixture.dir, "staging");
  await mkdir(mount);
  await mkdir(staging);
  for (const name of await readdir(fixture.dir))
    if (name !== "mount" && name !== "staging")
      await cp(join(fixture.dir, name), join(staging, name));
  await kubeletSwap(mount, staging, "2026_12_03_10_00_00.000000001");

  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const service = await startService(
    testConfig(mount, { engine: "microbatch" }),
    (event, fields = {}) => events.push({ event, fields }),
  );
  try {
    assert.equal(await service.loaded, true, JSON.stringify(events));
    const { port } = service.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const png = await digitPng((await digitsByClass(1))[4]);
    const versions = new Set<string>();
    const failures: string[] = [];
    let done = false;
    let count = 0;
    const client = async () => {
      while (!done) {
        const form = new FormData();
        form.append("image", new Blob([png], { type: "image/png" }), "4.png");
        const res = await fetch(`${url}/classify`, { method: "POST", body: form });
        const body = (await res.json()) as { label?: string; references: { version: string } };
        count++;
        if (res.status !== 200 || body.label !== "4")
          failures.push(`${res.status} ${JSON.stringify(body)}`);
        else versions.add(body.references.version);
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await until("some traffic", () => count > 10);

    // The new set: the old files plus references v2 (a new file) and the manifest naming it.
    await rm(join(staging, "references-v1.safetensors"));
    await writeReferences(staging, "v2");
    await kubeletSwap(mount, staging, "2026_12_03_10_05_00.000000002");

    await until("the v2 set to serve", () => versions.has("v2"));
    const seen = count;
    await until("traffic on v2", () => count > seen + 10);
    done = true;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
    assert.deepEqual([...versions].sort(), ["v1", "v2"]);
    const swapped = events.find(
      (e) => e.event === "reload_done" && e.fields.reason === "models swapped",
    );
    assert.ok(swapped, "the reload names the ..data swap as its reason");
    assert.equal(swapped.fields.references, "v2");
    assert.equal(events.filter((e) => e.event === "reload_failed").length, 0);
    assert.deepEqual(
      (await readdir(mount)).sort(),
      [
        "..2026_12_03_10_05_00.000000002",
        DATA,
        "embedder.onnx",
        "manifest.json",
        "references-v2.safetensors",
        "taylornet.onnx",
      ].sort(),
    );
  } finally {
    await service.close();
    await fixture.cleanup();
  }
});

test("scripts/publish-models-volume swaps a checked set onto the volume a running service reloads from", async () => {
  const fixture = await buildModelsDir();
  const mount = join(fixture.dir, "volume");
  const source = join(fixture.dir, "source");
  await mkdir(source);
  for (const name of await readdir(fixture.dir))
    if (name !== "volume" && name !== "source")
      await cp(join(fixture.dir, name), join(source, name));
  const first = await publishModelsVolume(source, mount);
  const service = await startService(testConfig(mount, { engine: "microbatch" }), () => {});
  const run = promisify(execFile);
  const publish = () =>
    run(
      process.execPath,
      ["--import", "tsx", "scripts/publish-models-volume.ts", "--from", source, "--to", mount],
      { timeout: 30_000 },
    );
  try {
    assert.equal(await service.loaded, true);
    assert.equal(service.state.current?.referencesEntry.version, "v1");

    // A set whose file does not match its manifest is refused before the volume is touched.
    await writeReferences(source, "v2");
    await writeFile(join(source, "references-v2.safetensors"), "truncated");
    await assert.rejects(publish(), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? "", /references-v2\.safetensors: sha256 mismatch/);
      return true;
    });
    assert.equal(await readlink(join(mount, DATA_LINK)), first);

    await writeReferences(source, "v2");
    await rm(join(source, "references-v1.safetensors"));
    const { stdout } = await publish();
    const { data } = JSON.parse(stdout) as { data: string };
    await until("v2 to serve", () => service.state.current?.referencesEntry.version === "v2");
    assert.equal(await readlink(join(mount, DATA_LINK)), data);
    const visible = (await readdir(mount)).filter((n) => !n.startsWith(".")).sort();
    assert.deepEqual(visible, [
      "embedder.onnx",
      "manifest.json",
      "references-v2.safetensors",
      "taylornet.onnx",
    ]);
    assert.deepEqual(
      (await readdir(mount)).filter((n) => n.startsWith("..")).sort(),
      [DATA_LINK, data].sort(),
    );
  } finally {
    await service.close();
    await fixture.cleanup();
  }
});

test("with --reload-poll-ms a manifest change that raises no file event (a network volume) is reloaded", async () => {
  const svc = await startTestService({ engine: "microbatch", reloadPollMs: 100 });
  try {
    assert.equal(await svc.load(), true);
    svc.reloader.poll(); // no fs.watch: only the poll can see the change
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      svc.logs.filter((l) => l.event === "reload_started").length,
      1,
      "no reload of an unchanged manifest",
    );
    await writeReferences(svc.fixture.dir, "v2");
    await until("v2 to serve", () => svc.state.current?.referencesEntry.version === "v2");
    const done = svc.logs.find(
      (l) => l.event === "reload_done" && l.fields.reason === "manifest changed (poll)",
    );
    assert.equal(done?.fields.references, "v2");
  } finally {
    await svc.stop();
  }
});
