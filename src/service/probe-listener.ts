// --probe-port: a second listener for kubelet's probes, as Triton and TorchServe have, run by its own thread
// (probe-worker.ts) from a heartbeat and the readiness this module publishes from the main thread.
import type { Worker } from "node:worker_threads";
import { type Config, ConfigError } from "../config.js";
import { spawnModuleWorker } from "../util/spawn-worker.js";
import { securityHeaderValues } from "./middleware/security-headers.js";
import type { ProbeWorkerData, ProbeWorkerReply, ProbeWorkerRequest } from "./probe-worker.js";
import { readiness } from "./routes/health.js";
import type { ServingState } from "./state.js";

/** How often the main thread beats and republishes its readiness (a change shows within this). */
export const PROBE_HEARTBEAT_MS = 100;
/** A main event loop silent this long fails /healthz and /readyz on the probe port. */
export const PROBE_STALL_MS = 5_000;

export interface ProbeListener {
  /** The port bound (the configured one, or the one picked for port 0). */
  port: number;
  /** Publishes the readiness now (the heartbeat also does, every PROBE_HEARTBEAT_MS). */
  publish(): void;
  close(): Promise<void>;
}

/** Starts the probe thread on config.probePort; throws ConfigError when the port cannot be bound. */
export async function startProbeListener(
  config: Pick<Config, "host" | "corsOrigins"> & { probePort: number },
  state: ServingState,
  stallMs = PROBE_STALL_MS,
): Promise<ProbeListener> {
  const heartbeat = new BigInt64Array(new SharedArrayBuffer(8));
  const beat = () => Atomics.store(heartbeat, 0, BigInt(Date.now()));
  beat();
  const workerData: ProbeWorkerData = {
    host: config.host,
    port: config.probePort,
    heartbeat: heartbeat.buffer as SharedArrayBuffer,
    stallMs,
    headers: securityHeaderValues({ crossOrigin: config.corsOrigins.length > 0 }),
  };
  const worker = spawnModuleWorker(new URL("./probe-worker.ts", import.meta.url), { workerData });
  const port = await listening(worker, config.probePort);
  let published = "";
  const publish = () => {
    const { status, body } = readiness(state);
    const answer = { status, body: JSON.stringify(body) ?? "" };
    const key = `${answer.status} ${answer.body}`;
    if (key === published) return;
    published = key;
    worker.postMessage({ readiness: answer } satisfies ProbeWorkerRequest);
  };
  publish();
  const timer = setInterval(() => {
    beat();
    publish();
  }, PROBE_HEARTBEAT_MS);
  timer.unref();
  worker.unref();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(timer);
      worker.ref();
      worker.once("exit", () => resolve());
      worker.postMessage({ close: true } satisfies ProbeWorkerRequest);
      // A thread that does not stop in time is stopped.
      setTimeout(() => void worker.terminate(), 2_000).unref();
    });
    return closing;
  };
  return { port, publish, close };
}

function listening(worker: Worker, wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const settle = (reply?: ProbeWorkerReply, failure?: string) => {
      worker.off("message", settle).off("error", onError).off("exit", onExit);
      if (reply && "listening" in reply) return resolve(reply.listening);
      void worker.terminate();
      const why = failure ?? (reply && "failed" in reply ? reply.failed : "no reply");
      reject(new ConfigError(`cannot listen on --probe-port ${wanted}: ${why}`));
    };
    const onError = (error: Error) => settle(undefined, error.message);
    const onExit = (code: number) => settle(undefined, `the probe thread exited (code ${code})`);
    worker.once("message", settle).once("error", onError).once("exit", onExit);
  });
}
