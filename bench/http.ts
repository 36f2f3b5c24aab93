// HTTP load: starts the service as a child on 127.0.0.1, then autocannon prints one JSON line per
// (endpoint, connections) with requests/s and p50/p99 latency, plus /healthz p99 under /classify load,
// and a last line with the service's footprint: ms from spawn to /readyz 200, resident memory after
// loading, its peak over the whole run and over a SIGHUP reload under load (what a Kubernetes startup probe and
// memory request are sized from).
// Usage: tsx bench/http.ts [--models-dir models | --tiny] [--duration 5] [--connections 1,16,64]
//        [--engine pool|microbatch] [--workers 2] [--threads 1] [--image mnist28|paper112|jpeg112]
//        [--endpoints /classify,/taylornet/predict]
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import autocannon, { type Result } from "autocannon";
import { CliError, choiceFlag, intFlag, main, parseCli } from "../src/util/cli.js";
import { buildModelsDir, digitJpeg, digitPng, digitsByClass } from "../test/service-fixture.js";

const IMAGES = ["mnist28", "paper112", "jpeg112"] as const;
const ENDPOINTS = ["/classify", "/taylornet/predict"] as const;

/** The upload: an MNIST test digit as a 28×28 PNG, or ×4 as dark ink on light paper (PNG or JPEG). */
async function uploadBody(image: (typeof IMAGES)[number]): Promise<Buffer> {
  const digit = (await digitsByClass(1))[7];
  if (image === "mnist28") return digitPng(digit);
  const paper = { scale: 4, invert: true };
  return image === "paper112" ? digitPng(digit, paper) : digitJpeg(digit, paper);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null)
      throw new CliError(`the service exited with code ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new CliError(`the service was not ready after ${timeoutMs / 1000} s`);
}

function load(
  url: string,
  path: string,
  body: Buffer,
  connections: number,
  duration: number,
): Promise<Result> {
  return autocannon({
    url: `${url}${path}`,
    method: path === "/healthz" ? "GET" : "POST",
    headers: path === "/healthz" ? {} : { "content-type": contentType(body) },
    body: path === "/healthz" ? undefined : body,
    connections,
    duration,
  });
}

function contentType(body: Buffer): string {
  return body[0] === 0xff && body[1] === 0xd8 ? "image/jpeg" : "image/png";
}

/** One GET at a time for `duration` seconds (a liveness probe's view): latency percentiles in ms. */
async function probe(url: string, duration: number) {
  const times: number[] = [];
  let failures = 0;
  const end = Date.now() + duration * 1000;
  while (Date.now() < end) {
    const started = performance.now();
    const ok = await fetch(url).then(
      async (r) => {
        await r.arrayBuffer();
        return r.ok;
      },
      () => false,
    );
    times.push(performance.now() - started);
    if (!ok) failures++;
    await new Promise((r) => setTimeout(r, 10));
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    Number(times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2));
  return {
    requests: times.length,
    failures,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: Number(times.at(-1)!.toFixed(2)),
  };
}

/** Resident set size of a process (kB → MiB): now (VmRSS) and its peak so far (VmHWM); Linux only. */
async function residentMiB(
  pid: number,
): Promise<{ rssMiB: number; peakRssMiB: number } | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  if (!status) return undefined;
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rssMiB: Math.round(kb("VmRSS") / 1024), peakRssMiB: Math.round(kb("VmHWM") / 1024) };
}

function line(
  endpoint: string,
  connections: number,
  duration: number,
  r: Result,
  extra: Record<string, unknown> = {},
) {
  const row = {
    bench: "http",
    endpoint,
    connections,
    durationS: duration,
    requestsPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

main(async () => {
  const flags = parseCli({
    "models-dir": { type: "string" },
    tiny: { type: "boolean" },
    duration: { type: "string" },
    connections: { type: "string" },
    engine: { type: "string" },
    workers: { type: "string" },
    threads: { type: "string" },
    image: { type: "string" },
    endpoints: { type: "string" },
  });
  const duration = intFlag(flags.duration, "duration", 5, { min: 1, max: 600 });
  const levels = (flags.connections ?? "1,16,64")
    .split(",")
    .map((c) => intFlag(c, "connections", 1, { min: 1, max: 1024 }));
  const engine = choiceFlag(flags.engine, "engine", ["pool", "microbatch"] as const, "pool");
  const workers = intFlag(flags.workers, "workers", 2, { min: 1, max: 64 });
  const threads = intFlag(flags.threads, "threads", 1, { min: 1, max: 64 });
  const image = choiceFlag(flags.image, "image", IMAGES, "mnist28");
  const endpoints = (flags.endpoints ?? ENDPOINTS.join(","))
    .split(",")
    .map((e) => choiceFlag(e, "endpoints", ENDPOINTS, "/classify"));
  let modelsDir = flags["models-dir"] ?? "models";
  const fixture = flags.tiny ? await buildModelsDir() : undefined;
  if (fixture) modelsDir = fixture.dir;
  if (!existsSync(join(modelsDir, "manifest.json"))) {
    throw new CliError(`${modelsDir}/manifest.json not found: pass --models-dir DIR or --tiny`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const spawned = performance.now();
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/service/server.ts",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--models-dir",
      modelsDir,
    ],
    {
      env: {
        ...process.env,
        CGNN_ENGINE: engine,
        CGNN_WORKERS: String(workers),
        CGNN_THREADS: String(threads),
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  try {
    await waitReady(url, child);
    const readyMs = Math.round(performance.now() - spawned);
    const loaded = await residentMiB(child.pid!);
    const body = await uploadBody(image);
    const setup = {
      engine,
      workers,
      threads,
      models: flags.tiny ? "tiny" : modelsDir,
      image,
      imageBytes: body.length,
    };
    for (const endpoint of endpoints) {
      await load(url, endpoint, body, 8, 1);
      for (const connections of levels) {
        line(
          endpoint,
          connections,
          duration,
          await load(url, endpoint, body, connections, duration),
          setup,
        );
      }
    }
    const busy = Math.max(...levels);
    const [classify, health] = await Promise.all([
      load(url, "/classify", body, busy, duration),
      probe(`${url}/healthz`, duration),
    ]);
    line("/classify", busy, duration, classify, { ...setup, with: "/healthz probe" });
    process.stdout.write(
      `${JSON.stringify({ bench: "http", endpoint: "/healthz", underLoad: `/classify c=${busy}`, ...health, ...setup })}\n`,
    );
    const end = await residentMiB(child.pid!);
    // A hot reload holds the old set (draining) and the new one at once: SIGHUP under load, then the peak.
    const generation = async () =>
      ((await (await fetch(`${url}/readyz`)).json()) as { generation?: number }).generation;
    const before = await generation();
    const reload = load(url, "/classify", body, busy, duration);
    child.kill("SIGHUP");
    const reloaded = await reload;
    const reloadEnd = Date.now() + 120_000;
    while ((await generation()) === before && Date.now() < reloadEnd)
      await new Promise((r) => setTimeout(r, 250));
    const after = await residentMiB(child.pid!);
    process.stdout.write(
      `${JSON.stringify({ bench: "http-footprint", readyMs, rssLoadedMiB: loaded?.rssMiB, rssEndMiB: end?.rssMiB, peakRssMiB: end?.peakRssMiB, peakRssWithReloadMiB: after?.peakRssMiB, reloaded: (await generation()) !== before, reloadNon2xx: reloaded.non2xx, ...setup })}\n`,
    );
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await fixture?.cleanup();
  }
});
