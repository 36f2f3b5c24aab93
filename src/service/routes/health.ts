// Liveness, readiness and the Prometheus exposition: mounted before the access log and the heavy middleware.
import { Router } from "express";
import type { Metrics } from "../metrics.js";
import type { ServingState } from "../state.js";

/** Answered before the heavy middleware, never access-logged nor rate-limited. */
export const PROBE_PATHS: readonly string[] = ["/healthz", "/readyz", "/metrics"];

export function healthRouter(state: ServingState, metrics: Metrics): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", (_req, res) => {
    const set = state.current;
    const unready = state.unreadiness;
    if (unready || !set) {
      res.status(503).json(unready);
      return;
    }
    res.json({
      status: "ready",
      generation: set.generation,
      references: set.referencesEntry.version,
    });
  });
  router.get("/metrics", async (_req, res) => {
    metrics.setEngines(state.current?.models.values() ?? []);
    metrics.ready.set(state.ready ? 1 : 0);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
