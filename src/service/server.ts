// `npm start`: listen at once (readyz 503), load and verify the models, then serve and hot-reload them; drain on SIGTERM/SIGINT.
import type { Server } from "node:http";
import { Server as NetServer } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Config,
  ConfigError,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  loadConfig,
  REQUEST_TIMEOUT_MS,
} from "../config.js";
import { createApp } from "./app.js";
import { ConnectionDrainer } from "./drain.js";
import { createLogger, jsonLogger, type Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { type ProbeListener, startProbeListener } from "./probe-listener.js";
import { Reloader } from "./reload.js";
import { ServingState } from "./state.js";

/** After config.shutdownTimeoutMs closes the last connections, the time left for the sessions before the process exits anyway. */
const SHUTDOWN_FORCE_MARGIN_MS = 2_000;

/** When a SIGTERM'd service exits anyway, draining or not (ms after the signal). */
export function shutdownDeadlineMs(config: Pick<Config, "shutdownTimeoutMs">): number {
  return config.shutdownTimeoutMs + SHUTDOWN_FORCE_MARGIN_MS;
}

/**
 * How long a SIGTERM'd service with the default --shutdown-timeout-ms drains in-flight requests
 * before it exits anyway (deploy/ sizes its grace period on it).
 */
export const SHUTDOWN_DEADLINE_MS = shutdownDeadlineMs({
  shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
});

export interface RunningService {
  server: Server;
  state: ServingState;
  reloader: Reloader;
  metrics: Metrics;
  /** The --probe-port listener's port (the one picked when 0 was asked for), if one runs. */
  probePort?: number;
  /** Resolves once the first load attempt has finished (true when models are serving). */
  loaded: Promise<boolean>;
  /**
   * Drains and stops: readyz 503 and `Connection: close` on every response from now on; after
   * config.shutdownDelayMs the listener closes, idle connections close at once and busy ones as
   * their responses end; after config.shutdownTimeoutMs the rest are closed; then the sessions.
   */
  close(): Promise<void>;
}

/** Starts the HTTP server and the first model load; the service answers 503 until it is ready. */
export async function startService(
  config: Config,
  log: Logger = jsonLogger,
): Promise<RunningService> {
  const metrics = new Metrics();
  const state = new ServingState();
  const reloader = new Reloader(config, metrics, state, log);
  const app = createApp({ config, state, metrics, log });
  const server = app.listen(config.port, config.host);
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = 10_000;
  const drainer = new ConnectionDrainer(server);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  let probes: ProbeListener | undefined;
  if (config.probePort !== undefined) {
    try {
      probes = await startProbeListener({ ...config, probePort: config.probePort }, state);
    } catch (error) {
      server.close();
      throw error;
    }
  }
  const address = server.address();
  log("listening", {
    address: typeof address === "object" ? address : String(address),
    ...(probes ? { probePort: probes.port } : {}),
    modelsDir: config.modelsDir,
  });
  const loaded = reloader.reload("start", true);
  reloader.watch();
  let closing: Promise<void> | undefined;
  const drain = async () => {
    state.beginShutdown();
    probes?.publish();
    drainer.begin();
    const deadline = setTimeout(() => {
      log("shutdown_closing_connections", {
        afterMs: config.shutdownTimeoutMs,
        open: drainer.open,
      });
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    try {
      await reloader.close();
      if (config.shutdownDelayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      }
      // net.Server's close stops listening only: http.Server's would also close every socket
      // without a request yet, resetting requests already on their way.
      await new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
    } finally {
      clearTimeout(deadline);
    }
    await state.close();
    await probes?.close();
  };
  const close = () => {
    closing ??= drain();
    return closing;
  };
  return { server, state, reloader, metrics, probePort: probes?.port, loaded, close };
}

async function main(): Promise<void> {
  let config: Config;
  let service: RunningService;
  let log: Logger;
  try {
    config = loadConfig();
    log = createLogger(config.logLevel);
    service = await startService(config, log);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`cgnn: ${error.message}\n`);
    process.exit(2);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("shutdown_started", { signal });
    const forceMs = shutdownDeadlineMs(config);
    const force = setTimeout(() => {
      log("shutdown_forced", { afterMs: forceMs });
      process.exit(1);
    }, forceMs);
    force.unref();
    service.close().then(
      () => {
        log("shutdown_done", {});
        process.exit(0);
      },
      (error) => {
        log("shutdown_failed", { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  const ok = await service.loaded;
  if (!ok)
    log("not_ready", {
      detail: "no models loaded; fix models/manifest.json (a change reloads) or send SIGHUP",
    });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error) => {
    jsonLogger("startup_failed", { error: String((error as Error)?.message ?? error) });
    process.exit(1);
  });
}
