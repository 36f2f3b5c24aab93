// POST /classify: image(s) → the model's preprocessing → embedding → nearest distilled references
// by angle, "unknown" below the level's open-set threshold.
import { Router } from "express";
import type { Config } from "../../config.js";
import { isUnknown } from "../../index/open-set.js";
import type { Neighbour } from "../../index/reference-index.js";
import { unprocessable } from "../errors.js";
import type { Metrics } from "../metrics.js";
import type { ModelInput } from "../preprocess.js";
import type { ServingSet } from "../serving-set.js";
import type { ServingState } from "../state.js";
import { imageBody, requestImages } from "./image-input.js";
import { withServingSet } from "./lease.js";
import { classifyQuery } from "./query.js";

export function classifyRouter(config: Config, state: ServingState, metrics: Metrics): Router {
  const router = Router();
  router.post(
    "/classify",
    ...imageBody(config),
    withServingSet(state, async (req, res, set) => {
      const level = config.defaultLevel ?? set.referencesEntry.defaultLevel ?? 5;
      const query = classifyQuery(req, { k: config.defaultK, level });
      if (!set.references.hasLevel(query.level)) {
        throw unprocessable(
          "bad_query",
          `query level: references ${set.references.version} have levels ${set.references.levelNumbers.join(", ")}`,
        );
      }
      const upload = await requestImages(req, config);
      const { output: embeddings, inputs } = await set.embedder.runImages(upload.images, {
        maxPixels: config.maxImagePixels,
        invert: query.invert,
        frame: query.frame,
      });
      const results = inputs.map((input, i) => {
        const embedding = embeddings.subarray(i * set.references.dim, (i + 1) * set.references.dim);
        const topK = search(set, metrics, query.level, embedding, query.k);
        const threshold =
          query.minSimilarity ?? set.referencesEntry.minSimilarity?.[String(query.level)];
        const unknown = isUnknown(topK[0].similarity, threshold);
        metrics.classifications.inc({
          label: unknown ? "(unknown)" : topK[0].label,
          endpoint: "classify",
        });
        return answer(set, query.level, input, topK, unknown);
      });
      res.json(upload.many ? results : results[0]);
    }),
  );
  return router;
}

function search(
  set: ServingSet,
  metrics: Metrics,
  level: number,
  embedding: Float32Array,
  k: number,
): Neighbour[] {
  const end = metrics.searchDuration.startTimer({ model: set.embedder.name, level: String(level) });
  try {
    return set.references.search(level, embedding, k);
  } finally {
    end();
  }
}

function answer(
  set: ServingSet,
  level: number,
  input: Omit<ModelInput, "pixels">,
  topK: Neighbour[],
  unknown: boolean,
) {
  return {
    // Below the level's open-set threshold the nearest reference is not close enough to name.
    label: unknown ? null : topK[0].label,
    unknown,
    similarity: topK[0].similarity,
    topK,
    model: { name: set.embedder.name, version: set.embedder.entry.version },
    references: { version: set.references.version, level },
    preprocessing: { inverted: input.inverted, framed: input.framed },
  };
}
