// Liveness, readiness and the Prometheus exposition: mounted before the access log and the heavy middleware.
import { Router } from "express";
import type { Metrics } from "../metrics.js";
import type { ServingState } from "../state.js";

/** Answered before the heavy middleware, never access-logged nor rate-limited. */
export const PROBE_PATHS: readonly string[] = ["/healthz", "/readyz", "/metrics"];

/** The liveness answer: the process's event loop got to the request. */
export const HEALTH_BODY = { status: "ok" } as const;

/** The readiness answer: 200 with the serving generation, or 503 with why not. */
export function readiness(state: ServingState): { status: number; body: unknown } {
  const set = state.current;
  const unready = state.unreadiness;
  if (unready || !set) return { status: 503, body: unready };
  return {
    status: 200,
    body: { status: "ready", generation: set.generation, references: set.referencesEntry.version },
  };
}

/** Sets the gauges read at scrape time, then renders the exposition. */
export function scrape(state: ServingState, metrics: Metrics): Promise<string> {
  metrics.setEngines(state.current?.models.values() ?? []);
  metrics.ready.set(state.ready ? 1 : 0);
  return metrics.registry.metrics();
}

/** The Express routes of the probes (probe-fast-path.ts answers plain probe requests before Express). */
export function healthRouter(state: ServingState, metrics: Metrics): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json(HEALTH_BODY);
  });
  router.get("/readyz", (_req, res) => {
    const { status, body } = readiness(state);
    res.status(status).json(body);
  });
  router.get("/metrics", async (_req, res) => {
    const text = await scrape(state, metrics);
    res.type(metrics.registry.contentType).send(text);
  });
  return router;
}
