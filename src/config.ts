// Service configuration from environment and command-line flags, validated once at start.
import { parseArgs } from "node:util";
import { z } from "zod";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const ConfigSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().min(1).default("0.0.0.0"),
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
  defaultK: int(1, 100).default(5),
  /** Unset: the references' own `defaultLevel` from the manifest, else 5. */
  defaultLevel: int(1, 5).optional(),
  reloadDebounceMs: int(0, 60_000).default(500),
  /** Also re-read the manifest every N ms (0: off), for volumes whose changes raise no inotify event (NFS). */
  reloadPollMs: int(0, 3_600_000).default(0),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Each setting: its flag, its environment variable. Flags win over the environment. */
const SOURCES: Record<keyof Config, { flag: string; env: string }> = {
  port: { flag: "port", env: "PORT" },
  host: { flag: "host", env: "HOST" },
  modelsDir: { flag: "models-dir", env: "CGNN_MODELS_DIR" },
  engine: { flag: "engine", env: "CGNN_ENGINE" },
  workers: { flag: "workers", env: "CGNN_WORKERS" },
  threads: { flag: "threads", env: "CGNN_THREADS" },
  maxUploadBytes: { flag: "max-upload-bytes", env: "CGNN_MAX_UPLOAD_BYTES" },
  maxImagePixels: { flag: "max-image-pixels", env: "CGNN_MAX_IMAGE_PIXELS" },
  maxImagesPerRequest: { flag: "max-images", env: "CGNN_MAX_IMAGES" },
  maxRequestBytes: { flag: "max-request-bytes", env: "CGNN_MAX_REQUEST_BYTES" },
  maxRequestPixels: { flag: "max-request-pixels", env: "CGNN_MAX_REQUEST_PIXELS" },
  defaultK: { flag: "default-k", env: "CGNN_DEFAULT_K" },
  defaultLevel: { flag: "default-level", env: "CGNN_DEFAULT_LEVEL" },
  reloadDebounceMs: { flag: "reload-debounce-ms", env: "CGNN_RELOAD_DEBOUNCE_MS" },
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
    Object.values(SOURCES).map(({ flag }) => [flag, { type: "string" as const }]),
  );
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message.split("\n")[0]);
  }
  const raw: Record<string, unknown> = {};
  for (const [key, { flag, env: name }] of Object.entries(SOURCES)) {
    const value = flags[flag] ?? env[name];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path[0] as keyof Config;
    const { flag, env: name } = SOURCES[key];
    throw new ConfigError(
      `bad value ${JSON.stringify(raw[key])} for --${flag} / ${name}: ${issue.message}`,
    );
  }
  return result.data;
}
