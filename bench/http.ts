// HTTP load: starts the service as a child on 127.0.0.1, then autocannon prints one JSON line per
// (endpoint, connections) with requests/s and p50/p99 latency, plus /healthz p99 under /classify load
// (on the main port and on --probe-port; first with the service idle);
// first, the embedder's raw images/s through the service's engine (no HTTP), and at the end the ratio
// and where the CPU went in that run (the service, its main thread, and this process: the load generator);
// a last line with the service's footprint: ms from spawn to /readyz 200, resident memory after
// loading, its peak over the whole run and over a SIGHUP reload under load (what a Kubernetes startup probe and
// memory request are sized from).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import autocannon, { type Result } from "autocannon";
import { createInferenceEngine } from "../src/inference/inference.js";
import { readManifest } from "../src/models/manifest.js";
import { CliError, runScript } from "../src/util/cli.js";
import { boolean, choice, int, list, readFlags, string } from "../src/util/flags.js";
import { freePort } from "../src/util/free-port.js";
import { buildModelsDir, digitJpeg, digitPng, digitsByClass } from "../test/service-fixture.js";
import { probe } from "./http-probe.js";
import { cpuShare } from "./proc-cpu.js";

const IMAGES = ["mnist28", "paper112", "jpeg112"] as const;
const ENDPOINTS = ["/classify", "/taylornet/predict", "/healthz"] as const;

const FLAGS = {
  "models-dir": string("the models folder served", { default: "models", arg: "DIR" }),
  tiny: boolean("serve tiny test models built for the run instead of --models-dir"),
  "probe-port": boolean(
    "also start the service with --probe-port and probe /healthz there (code from issue 15 on)",
  ),
  duration: int("seconds per load level", { default: 5, min: 1, max: 600 }),
  connections: list({ kind: "int", min: 1, max: 1024 }, "concurrent connections, one line each", {
    default: [1, 16, 64],
  }),
  engine: choice(["pool", "microbatch"], "the service's inference engine", { default: "pool" }),
  workers: int("inference worker threads per model (pool)", { default: 2, min: 1, max: 64 }),
  threads: int("onnxruntime intra-op threads per session", { default: 1, min: 1, max: 64 }),
  image: choice(IMAGES, "the upload", { default: "mnist28" }),
  endpoints: list({ kind: "choice", choices: ENDPOINTS }, "endpoints loaded", {
    default: ["/classify", "/taylornet/predict"],
  }),
};

const SCRIPT = {
  usage:
    "tsx bench/http.ts [--models-dir models | --tiny] [--duration 5] [--connections 1,16,64] [flags]",
  summary:
    "Starts the service as a child on 127.0.0.1 and loads it with autocannon: one JSON line per (endpoint, connections), plus /healthz under /classify load.",
};

/** The upload: an MNIST test digit as a 28×28 PNG, or ×4 as dark ink on light paper (PNG or JPEG). */
async function uploadBody(image: (typeof IMAGES)[number]): Promise<Buffer> {
  const digit = (await digitsByClass(1))[7];
  if (image === "mnist28") return digitPng(digit);
  const paper = { scale: 4, invert: true };
  return image === "paper112" ? digitPng(digit, paper) : digitJpeg(digit, paper);
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the service was not ready after ${timeoutMs / 1000} s`);
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

/**
 * The embedder alone, as the service runs it (same engine, workers and threads) with `connections`
 * one-image calls in flight for `duration` seconds: the images/s that /classify could reach with no
 * HTTP, decoding, search or JSON (serving overhead = 1 − classify req/s ÷ this).
 */
async function rawEmbedder(
  modelsDir: string,
  options: { engine: "pool" | "microbatch"; workers: number; threads: number },
  connections: number,
  duration: number,
) {
  const manifest = await readManifest(modelsDir);
  const name = manifest.references?.embedder;
  const entry = name ? manifest.models[name] : undefined;
  if (!name || !entry) throw new CliError(`${modelsDir}/manifest.json names no embedder`);
  const engine = await createInferenceEngine(join(modelsDir, entry.file), {
    engine: options.engine,
    workers: options.workers,
    intraOpNumThreads: options.threads,
    output: entry.output.name,
    warmUp: true,
  });
  try {
    const image = new Float32Array(engine.inputShape.reduce((a, b) => a * b, 1)).fill(0.5);
    let images = 0;
    const end = performance.now() + duration * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < end) {
          await engine.run(image, 1);
          images++;
        }
      }),
    );
    return {
      model: name,
      imagesPerSec: Math.round(images / ((performance.now() - started) / 1000)),
    };
  } finally {
    await engine.close();
  }
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

runScript("bench/http", async () => {
  const flags = readFlags(SCRIPT, FLAGS);
  const { duration, engine, workers, threads, image, endpoints } = flags;
  const levels = flags.connections;
  let modelsDir = flags["models-dir"];
  const fixture = flags.tiny ? await buildModelsDir() : undefined;
  if (fixture) modelsDir = fixture.dir;
  if (!existsSync(join(modelsDir, "manifest.json"))) {
    throw new CliError(`${modelsDir}/manifest.json not found: pass --models-dir DIR or --tiny`);
  }
  const busy = Math.max(...levels);
  const raw = await rawEmbedder(modelsDir, { engine, workers, threads }, busy, duration);
  process.stdout.write(
    `${JSON.stringify({ bench: "http", endpoint: "(embedder, no HTTP)", connections: busy, durationS: duration, ...raw, engine, workers, threads })}\n`,
  );
  const port = await freePort();
  const probePort = flags["probe-port"] ? await freePort() : undefined;
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
      ...(probePort ? ["--probe-port", String(probePort)] : []),
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
    // The probe with the service idle: what the machine's own scheduling costs a probe, load or not.
    const [idle, idleProbePort] = await Promise.all([
      probe(`${url}/healthz`, duration),
      probePort ? probe(`http://127.0.0.1:${probePort}/healthz`, duration) : undefined,
    ]);
    for (const [result, port] of [
      [idle, undefined],
      [idleProbePort, "--probe-port"],
    ] as const) {
      if (!result) continue;
      const where = port ? { port } : {};
      process.stdout.write(
        `${JSON.stringify({ bench: "http", endpoint: "/healthz", ...where, underLoad: "none", ...result, ...setup })}\n`,
      );
    }
    for (const endpoint of endpoints) {
      await load(url, endpoint, body, 8, 1);
      for (const connections of levels) {
        const cpu = await cpuShare(child.pid!);
        const result = await load(url, endpoint, body, connections, duration);
        line(endpoint, connections, duration, result, {
          ...setup,
          ...(await cpu(result.requests.total)),
        });
      }
    }
    const cpu = await cpuShare(child.pid!);
    const [classify, health, probed] = await Promise.all([
      load(url, "/classify", body, busy, duration),
      probe(`${url}/healthz`, duration),
      probePort ? probe(`http://127.0.0.1:${probePort}/healthz`, duration) : undefined,
    ]);
    line("/classify", busy, duration, classify, {
      ...setup,
      with: "/healthz probe",
      embedderImagesPerSec: raw.imagesPerSec,
      classifyToEmbedder: Number((classify.requests.average / raw.imagesPerSec).toFixed(3)),
      ...(await cpu(classify.requests.total + health.requests + (probed?.requests ?? 0))),
    });
    process.stdout.write(
      `${JSON.stringify({ bench: "http", endpoint: "/healthz", underLoad: `/classify c=${busy}`, ...health, ...setup })}\n`,
    );
    if (probed) {
      process.stdout.write(
        `${JSON.stringify({ bench: "http", endpoint: "/healthz", port: "--probe-port", underLoad: `/classify c=${busy}`, ...probed, ...setup })}\n`,
      );
    }
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
