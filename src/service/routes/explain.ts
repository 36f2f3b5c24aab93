// POST /explain: one image → the input as the embedder saw it (decoded, inverted, framed) and its
// nearest distilled references at every level, L1 (concrete) to L5 (one abstract image per class).
import { Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import { encodePng } from "../../data/png-encode.js";
import { unprocessable } from "../errors.js";
import { preprocessImages } from "../preprocess.js";
import type { ServingState } from "../state.js";
import { imageBody, uploadedImages } from "./image-input.js";
import { withServingSet } from "./lease.js";
import { parseQuery, preprocessingQuery } from "./query.js";
import { referenceImagePath } from "./references.js";

export const explainSchema = z.strictObject({
  k: z.coerce.number().int().min(1).max(20).default(3),
  ...preprocessingQuery,
});

const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString("base64")}`;

export function explainRouter(config: Config, state: ServingState): Router {
  const router = Router();
  router.post(
    "/explain",
    ...imageBody(config),
    withServingSet(state, async (req, res, set) => {
      const { k, invert, frame } = parseQuery(req, explainSchema);
      const upload = uploadedImages(req);
      if (upload.many) {
        throw unprocessable("unexpected_field", '/explain takes one "image", not "images"');
      }
      const shape = set.embedder.engine.inputShape;
      const { batch, inputs } = await preprocessImages(upload.images, shape, {
        maxPixels: config.maxImagePixels,
        invert,
        frame,
      });
      const embedding = await set.embedder.run(batch, 1);
      const [height, width, channels] = shape;
      res.json({
        model: { name: set.embedder.name, version: set.embedder.entry.version },
        references: { version: set.references.version, generation: set.generation },
        preprocessing: { inverted: inputs[0].inverted, framed: inputs[0].framed },
        input: { width, height, channels, png: dataUrl(encodePng(batch, width, height, channels)) },
        levels: set.references.levelNumbers.map((level) => {
          const neighbours = set.references.search(level, embedding, k).map((n) => ({
            ...n,
            image: referenceImagePath(level, n.referenceId),
          }));
          return {
            level,
            label: neighbours[0].label,
            similarity: neighbours[0].similarity,
            neighbours,
          };
        }),
      });
    }),
  );
  return router;
}
