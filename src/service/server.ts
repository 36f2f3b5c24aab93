// `npm start`: listen at once (readyz 503), load and verify the models, then serve and hot-reload them; drain on SIGTERM/SIGINT.
import type { Server } from "node:http";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { createApp } from "./app.js";
import { jsonLogger, type Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { Reloader } from "./reload.js";
import { ServingState } from "./state.js";

/** How long a SIGTERM'd service drains in-flight requests before it exits anyway (deploy/ sizes its grace period on it). */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface RunningService {
  server: Server;
  state: ServingState;
  reloader: Reloader;
  metrics: Metrics;
  /** Resolves once the first load attempt has finished (true when models are serving). */
  loaded: Promise<boolean>;
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
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address();
  log("listening", {
    address: typeof address === "object" ? address : String(address),
    modelsDir: config.modelsDir,
  });
  const loaded = reloader.reload("start", true);
  reloader.watch();
  const close = async () => {
    await reloader.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await state.close();
  };
  return { server, state, reloader, metrics, loaded, close };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`cgnn: ${error.message}\n`);
    process.exit(2);
  }
  const service = await startService(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    jsonLogger("shutdown_started", { signal });
    const force = setTimeout(() => {
      jsonLogger("shutdown_forced", { afterMs: SHUTDOWN_DEADLINE_MS });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    force.unref();
    service.close().then(
      () => {
        jsonLogger("shutdown_done", {});
        process.exit(0);
      },
      (error) => {
        jsonLogger("shutdown_failed", { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  const ok = await service.loaded;
  if (!ok)
    jsonLogger("not_ready", {
      detail: "no models loaded; fix models/manifest.json (a change reloads) or send SIGHUP",
    });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error) => {
    jsonLogger("startup_failed", { error: String((error as Error)?.message ?? error) });
    process.exit(1);
  });
}
