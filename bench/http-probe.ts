// The probe's view of the service under load for bench/http.ts: one GET at a time, as kubelet sends them, from a thread
// of its own (autocannon's 64 connections keep the bench's event loop busy, and a probe there would time that too).
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { spawnModuleWorker } from "../src/util/spawn-worker.js";

export interface ProbeResult {
  requests: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** One GET at a time for `duration` seconds, 10 ms apart: latency percentiles in ms. */
async function probeLoop(url: string, duration: number): Promise<ProbeResult> {
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

/** probeLoop in a worker thread of its own. */
export function probe(url: string, duration: number): Promise<ProbeResult> {
  const worker = spawnModuleWorker(new URL(import.meta.url), { workerData: { url, duration } });
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

if (!isMainThread && parentPort && (workerData as { url?: string })?.url) {
  const { url, duration } = workerData as { url: string; duration: number };
  parentPort.postMessage(await probeLoop(url, duration));
}
