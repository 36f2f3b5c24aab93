// GET /v1/models: the serving models and references, and how the last reload went.
import { Router } from "express";
import { notReady } from "../errors.js";
import type { ServingState } from "../state.js";
import { describeModel } from "./describe.js";

export function modelsRouter(state: ServingState, options: { exposeProvenance: boolean }): Router {
  const router = Router();
  router.get("/v1/models", (_req, res) => {
    const set = state.current;
    const reload = state.reload;
    if (!set) {
      const why = reload.status === "failed" ? `; the last load failed: ${reload.error}` : "";
      throw notReady(`models are not loaded yet${why}`);
    }
    const r = set.referencesEntry;
    res.json({
      models: [...set.models.values()].map((m) => describeModel(m, options.exposeProvenance)),
      references: {
        version: r.version,
        embedder: r.embedder,
        levels: set.references.levelNumbers,
        sha256: r.sha256,
      },
      reload,
    });
  });
  return router;
}
