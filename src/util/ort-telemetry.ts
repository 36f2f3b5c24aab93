// Keeps onnxruntime from writing a telemetry database (with a device id) under ~/.cache and from
// uploading telemetry: import this module before "onnxruntime-node" wherever that is imported.
//
// The native library reads ORT_DISABLE_TELEMETRY with getenv() when its environment is created
// (the first session), so the variable must be in the process environment by then. Only the main
// thread's process.env writes through to that environment (a worker's is a copy), so a worker
// cannot switch telemetry off for itself: the main thread must have imported this module first.
import { isMainThread } from "node:worker_threads";

/** The opt-in: CGNN_ORT_TELEMETRY=1 leaves onnxruntime's telemetry as onnxruntime ships it. */
export const TELEMETRY_OPT_IN = "CGNN_ORT_TELEMETRY";

export function ortTelemetryOptedIn(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TELEMETRY_OPT_IN] === "1";
}

/** Sets ORT_DISABLE_TELEMETRY=1 unless opted in; in a worker, checks the main thread did. */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  if (ortTelemetryOptedIn(env)) return;
  if (isMainThread) {
    env.ORT_DISABLE_TELEMETRY = "1";
  } else if (env.ORT_DISABLE_TELEMETRY !== "1") {
    throw new Error(
      "onnxruntime telemetry is on in this worker: import src/util/ort-telemetry.ts in the main thread before starting it (or set CGNN_ORT_TELEMETRY=1 to opt in)",
    );
  }
}

disableOrtTelemetry();
