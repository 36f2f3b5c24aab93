// Prometheus metrics of the service (prom-client, `cgnn_` prefix, base units), one registry per app.
// Default process/Node.js metrics keep their standard names (process_cpu_seconds_total, nodejs_heap_*).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { REQUEST_TIMEOUT_MS } from "../config.js";
import { type BuildInfo, readBuildInfo } from "./build-info.js";

/** Up to the server's request timeout, so that the slowest requests still land in a finite bucket. */
const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  REQUEST_TIMEOUT_MS / 1000,
];

/** Images per inference call: 1 to a full micro-batch. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: "cgnn_http_request_duration_seconds",
    help: "HTTP request duration by method, route and status code.",
    labelNames: ["method", "route", "code"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: "cgnn_http_requests_total",
    help: "HTTP requests by method, route and status code.",
    labelNames: ["method", "route", "code"] as const,
    registers: [this.registry],
  });

  readonly httpInFlight = new Gauge({
    name: "cgnn_http_requests_in_flight",
    help: "HTTP requests being answered now (probes and /metrics included).",
    registers: [this.registry],
  });

  readonly httpErrors = new Counter({
    name: "cgnn_http_errors_total",
    help: "HTTP error responses by route, status code and the body's error code.",
    labelNames: ["route", "code", "error"] as const,
    registers: [this.registry],
  });

  readonly inferenceDuration = new Histogram({
    name: "cgnn_inference_duration_seconds",
    help: "Model inference duration per call (one or more images, queueing included; for uploads the pool workers decode and frame them first), by model.",
    labelNames: ["model"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly inferenceBatchSize = new Histogram({
    name: "cgnn_inference_batch_size",
    help: "Images per inference call (one request's images; micro-batching joins calls further), by model.",
    labelNames: ["model"] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });

  readonly searchDuration = new Histogram({
    name: "cgnn_index_search_duration_seconds",
    help: "Reference index search duration per query by embedder model and level.",
    labelNames: ["model", "level"] as const,
    buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01],
    registers: [this.registry],
  });

  readonly classifications = new Counter({
    name: "cgnn_classifications_total",
    help: "Images classified, by predicted label and endpoint.",
    labelNames: ["label", "endpoint"] as const,
    registers: [this.registry],
  });

  readonly referencesInfo = new Gauge({
    name: "cgnn_references_info",
    help: "The loaded reference set (value 1) with its version and embedder as labels.",
    labelNames: ["version", "embedder"] as const,
    registers: [this.registry],
  });

  readonly referencesLoadedAt = new Gauge({
    name: "cgnn_references_loaded_timestamp_seconds",
    help: "Unix time at which the serving reference set was swapped in.",
    registers: [this.registry],
  });

  readonly reloads = new Counter({
    name: "cgnn_reloads_total",
    help: "Successful model and reference reloads.",
    registers: [this.registry],
  });

  readonly reloadFailures = new Counter({
    name: "cgnn_reload_failures_total",
    help: "Reloads whose new set failed to load or verify (the old set kept serving).",
    registers: [this.registry],
  });

  readonly reloadDuration = new Histogram({
    name: "cgnn_reload_duration_seconds",
    help: "Time to load, verify and warm a new set, by result (success, failure).",
    labelNames: ["result"] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly reloadLastSuccess = new Gauge({
    name: "cgnn_reload_last_success_timestamp_seconds",
    help: "Unix time of the last successful (re)load.",
    registers: [this.registry],
  });

  readonly reloadLastFailed = new Gauge({
    name: "cgnn_reload_last_failed",
    help: "1 while the last reload attempt failed (the old set, if any, still serves and it is retried), else 0.",
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge({
    name: "cgnn_build_info",
    help: "The running build (value 1): package version, source revision and Node.js version.",
    labelNames: ["version", "revision", "nodejs_version"] as const,
    registers: [this.registry],
  });

  readonly inferenceQueue = new Gauge({
    name: "cgnn_inference_queue_images",
    help: "Images waiting for an inference session, by model (bounded by --max-queue; past it a 503).",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly inferenceUp = new Gauge({
    name: "cgnn_inference_up",
    help: "1 while a model has a live inference worker (session), else 0 (its requests get 503).",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly workerRestarts = new Counter({
    name: "cgnn_inference_worker_restarts_total",
    help: "Inference workers started again after one died, by model.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: "cgnn_ready",
    help: "1 while /readyz answers 200 (models and index loaded and warmed, every model with a live worker, not shutting down), else 0.",
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean; build?: BuildInfo } = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client's *_active_*_total gauges break the naming rules promtool checks; their
      // per-type gauges (nodejs_active_handles etc.) carry the same information.
      for (const metric of this.registry.getMetricsAsArray()) {
        if (metric.name.endsWith("_total") && !(metric instanceof Counter)) {
          this.registry.removeSingleMetric(metric.name);
        }
      }
    }
    this.ready.set(0);
    this.reloadLastFailed.set(0);
    const build = options.build ?? readBuildInfo();
    this.buildInfo.set({ ...build, nodejs_version: process.version }, 1);
  }

  /** Sets the per-model engine gauges from the serving models (none: cleared). */
  setEngines(models: Iterable<{ name: string; engine: { queuedImages: number; alive: boolean } }>) {
    this.inferenceQueue.reset();
    this.inferenceUp.reset();
    for (const { name, engine } of models) {
      this.inferenceQueue.set({ model: name }, engine.queuedImages);
      this.inferenceUp.set({ model: name }, engine.alive ? 1 : 0);
    }
  }

  setReferences(version: string, embedder: string): void {
    this.referencesInfo.reset();
    this.referencesInfo.set({ version, embedder }, 1);
    this.referencesLoadedAt.set(Date.now() / 1000);
  }
}
