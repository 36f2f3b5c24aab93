// Service configuration from environment and command-line flags, validated once at start.
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_MAX_QUEUE } from "./inference/engine.js";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A comma-separated list (blanks dropped). */
const list = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .or(z.array(z.string()));

const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes");

/** How long the server waits for a whole request (node's server.requestTimeout): the latency buckets reach it. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** After SIGTERM, the default ms until connections still open are closed (--shutdown-timeout-ms). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8_000;

const ConfigSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().min(1).default("0.0.0.0"),
  /** A second port answering only /healthz and /readyz from their own thread (probe-listener.ts); unset: none. */
  probePort: int(0, 65535).optional(),
  modelsDir: z.string().min(1).default("models"),
  /** Inference engine: a worker-thread pool, or micro-batching on the main thread. */
  engine: z.enum(["pool", "microbatch"]).default("pool"),
  /** Worker threads per model (pool engine). */
  workers: int(1, 64).default(2),
  /** onnxruntime intra-op threads per session. */
  threads: int(1, 64).default(1),
  maxUploadBytes: int(1, 1 << 30).default(10 * 1024 * 1024),
  maxImagePixels: int(1, 1 << 30).default(25_000_000),
  maxImagesPerRequest: int(1, 1024).default(32),
  /** Bytes of one request body in all (multipart framing included); unset: see requestByteLimit. */
  maxRequestBytes: int(1, 2 ** 40).optional(),
  /** Header-declared width × height summed over a request's images; unset: see requestPixelLimit. */
  maxRequestPixels: int(1, 2 ** 40).optional(),
  /** Images waiting for inference per model; past it requests get 503 + Retry-After. */
  maxQueue: int(1, 1 << 20).default(DEFAULT_MAX_QUEUE),
  /** Delay before a dead inference worker is replaced (ms); doubles per failed start, up to 30 s. */
  workerRestartMs: int(1, 30_000).default(100),
  /** After SIGTERM: ms to keep accepting connections (readyz 503) before closing the listener. */
  shutdownDelayMs: int(0, 60_000).default(0),
  /** After SIGTERM: ms until connections still open are closed, whatever they are doing. */
  shutdownTimeoutMs: int(100, 600_000).default(DEFAULT_SHUTDOWN_TIMEOUT_MS),
  defaultK: int(1, 100).default(5),
  /** Unset: the references' own `defaultLevel` from the manifest, else 5. */
  defaultLevel: int(1, 5).optional(),
  reloadDebounceMs: int(0, 60_000).default(500),
  /** First delay before a failed reload is tried again (ms); doubles per failure, up to 60 s. */
  reloadRetryMs: int(100, 600_000).default(1_000),
  /** pino level of the JSON logs (access lines are info, 4xx warn, 5xx error). */
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** API keys (comma-separated); with none here or in apiKeysFile, no key is asked for. */
  apiKeys: list.default([]),
  /** A file of API keys, one a line (# comments); read once at start. */
  apiKeysFile: z.string().min(1).optional(),
  /** Paths answered without a key while keys are on (probes; add /metrics for an open scrape). */
  authOpenPaths: list.default(["/healthz", "/readyz"]),
  /** Requests per second per client (its key, else its address); 0: no limit. */
  rateLimit: z.coerce.number().min(0).max(1e6).default(0),
  /** Requests a client may send at once above the rate; unset: one second's worth (at least 1). */
  rateLimitBurst: int(1, 1e6).optional(),
  /** Origins (scheme://host[:port]) whose pages may call the API; "*" for any; empty: none (same origin only). */
  corsOrigins: list.default([]),
  /** /v1/models and /references include training commands and run paths (off: left out). */
  exposeProvenance: bool.default(false),
  /** Also re-read the manifest every N ms (0: off), for volumes whose changes raise no inotify event (NFS). */
  reloadPollMs: int(0, 3_600_000).default(0),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Each setting: its flag, its environment variable. Flags win over the environment. */
const SOURCES: Record<keyof Config, { flag?: string; env: string }> = {
  port: { flag: "port", env: "PORT" },
  host: { flag: "host", env: "HOST" },
  probePort: { flag: "probe-port", env: "CGNN_PROBE_PORT" },
  modelsDir: { flag: "models-dir", env: "CGNN_MODELS_DIR" },
  engine: { flag: "engine", env: "CGNN_ENGINE" },
  workers: { flag: "workers", env: "CGNN_WORKERS" },
  threads: { flag: "threads", env: "CGNN_THREADS" },
  maxUploadBytes: { flag: "max-upload-bytes", env: "CGNN_MAX_UPLOAD_BYTES" },
  maxImagePixels: { flag: "max-image-pixels", env: "CGNN_MAX_IMAGE_PIXELS" },
  maxImagesPerRequest: { flag: "max-images", env: "CGNN_MAX_IMAGES" },
  maxRequestBytes: { flag: "max-request-bytes", env: "CGNN_MAX_REQUEST_BYTES" },
  maxRequestPixels: { flag: "max-request-pixels", env: "CGNN_MAX_REQUEST_PIXELS" },
  maxQueue: { flag: "max-queue", env: "CGNN_MAX_QUEUE" },
  workerRestartMs: { flag: "worker-restart-ms", env: "CGNN_WORKER_RESTART_MS" },
  shutdownDelayMs: { flag: "shutdown-delay-ms", env: "CGNN_SHUTDOWN_DELAY_MS" },
  shutdownTimeoutMs: { flag: "shutdown-timeout-ms", env: "CGNN_SHUTDOWN_TIMEOUT_MS" },
  defaultK: { flag: "default-k", env: "CGNN_DEFAULT_K" },
  defaultLevel: { flag: "default-level", env: "CGNN_DEFAULT_LEVEL" },
  reloadDebounceMs: { flag: "reload-debounce-ms", env: "CGNN_RELOAD_DEBOUNCE_MS" },
  reloadRetryMs: { flag: "reload-retry-ms", env: "CGNN_RELOAD_RETRY_MS" },
  logLevel: { flag: "log-level", env: "CGNN_LOG_LEVEL" },
  // Keys only from the environment or a file: a flag would show them in `ps`.
  apiKeys: { env: "CGNN_API_KEYS" },
  apiKeysFile: { flag: "api-keys-file", env: "CGNN_API_KEYS_FILE" },
  authOpenPaths: { flag: "auth-open-paths", env: "CGNN_AUTH_OPEN_PATHS" },
  rateLimit: { flag: "rate-limit", env: "CGNN_RATE_LIMIT" },
  rateLimitBurst: { flag: "rate-limit-burst", env: "CGNN_RATE_LIMIT_BURST" },
  corsOrigins: { flag: "cors-origins", env: "CGNN_CORS_ORIGINS" },
  exposeProvenance: { flag: "expose-provenance", env: "CGNN_EXPOSE_PROVENANCE" },
  reloadPollMs: { flag: "reload-poll-ms", env: "CGNN_RELOAD_POLL_MS" },
};

/** Room for multipart framing (boundaries, part headers) beside the files themselves. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** Bound on one request body: --max-request-bytes, else four full-size uploads and their framing. */
export function requestByteLimit(
  config: Pick<Config, "maxRequestBytes" | "maxUploadBytes">,
): number {
  return config.maxRequestBytes ?? 4 * config.maxUploadBytes + MULTIPART_OVERHEAD_BYTES;
}

/** Bound on the pixels one request may ask to decode: --max-request-pixels, else four full-size images. */
export function requestPixelLimit(
  config: Pick<Config, "maxRequestPixels" | "maxImagePixels">,
): number {
  return config.maxRequestPixels ?? 4 * config.maxImagePixels;
}

/** Builds the config; a bad flag or value throws ConfigError with one line naming it. */
export function loadConfig(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const options = Object.fromEntries(
    Object.values(SOURCES)
      .filter(({ flag }) => flag !== undefined)
      .map(({ flag }) => [flag, { type: "string" as const }]),
  );
  let flags: Record<string, unknown>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message.split("\n")[0]);
  }
  const raw: Record<string, unknown> = {};
  for (const [key, { flag, env: name }] of Object.entries(SOURCES)) {
    const value =
      (flag === undefined ? undefined : (flags[flag] as string | undefined)) ?? env[name];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path[0] as keyof Config;
    const { flag, env: name } = SOURCES[key];
    const where = flag === undefined ? name : `--${flag} / ${name}`;
    // A key is never echoed back (it would land in logs).
    const value = key === "apiKeys" ? "(hidden)" : JSON.stringify(raw[key]);
    throw new ConfigError(`bad value ${value} for ${where}: ${issue.message}`);
  }
  const { port, probePort } = result.data;
  if (probePort !== undefined && probePort !== 0 && probePort === port) {
    throw new ConfigError(`--probe-port / CGNN_PROBE_PORT ${probePort} is the service's own port`);
  }
  return result.data;
}
