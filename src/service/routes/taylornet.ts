// POST /taylornet/predict: image(s) or JSON pixels → the TaylorNet classifier's label and class probabilities.
import { type Request, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import { notFound, unprocessable } from "../errors.js";
import type { Metrics } from "../metrics.js";
import type { LoadedModel } from "../serving-set.js";
import type { ServingState } from "../state.js";
import { imageBody, isJsonRequest, requestImages, type UploadLimits } from "./image-input.js";
import { withServingSet } from "./lease.js";
import { parseQuery, preprocessingSchema } from "./query.js";

export function taylornetRouter(config: Config, state: ServingState, metrics: Metrics): Router {
  const router = Router();
  router.post(
    "/taylornet/predict",
    ...imageBody(config, true),
    withServingSet(state, async (req, res, set) => {
      const classifier = set.classifier;
      if (!classifier) throw notFound("no classifier model is loaded");
      const size = classifier.engine.inputShape.reduce((a, b) => a * b, 1);
      const query = parseQuery(req, preprocessingSchema);
      const { logits, n, many } = isJsonRequest(req)
        ? { logits: await classifier.run(jsonPixels(req.body, size), 1), n: 1, many: false }
        : await imageLogits(req, classifier, config, {
            maxPixels: config.maxImagePixels,
            ...query,
          });
      const results = Array.from({ length: n }, (_, i) => {
        const out = logits.subarray(
          i * classifier.engine.outputDim,
          (i + 1) * classifier.engine.outputDim,
        );
        return predict(classifier, out, metrics);
      });
      res.json(many ? results : results[0]);
    }),
  );
  return router;
}

const pixelSchemas = new Map<number, z.ZodType<{ pixels: number[] }>>();

function pixelSchema(size: number): z.ZodType<{ pixels: number[] }> {
  let schema = pixelSchemas.get(size);
  if (!schema) {
    schema = z.strictObject({ pixels: z.array(z.number().min(0).max(1)).length(size) });
    pixelSchemas.set(size, schema);
  }
  return schema;
}

function jsonPixels(body: unknown, size: number): Float32Array {
  const result = pixelSchema(size).safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "body";
    throw unprocessable(
      "bad_body",
      `${where}: ${issue.message} (expected {"pixels": [${size} numbers in [0, 1]]}, row-major NHWC)`,
    );
  }
  return Float32Array.from(result.data.pixels);
}

async function imageLogits(
  req: Request,
  classifier: LoadedModel,
  limits: UploadLimits,
  options: { maxPixels: number; invert?: "auto" | boolean; frame?: boolean },
) {
  const upload = await requestImages(req, limits);
  const { output } = await classifier.runImages(upload.images, options);
  return { logits: output, n: upload.images.length, many: upload.many };
}

function predict(classifier: LoadedModel, output: Float32Array, metrics: Metrics) {
  const isLogits = !/prob/i.test(classifier.output);
  const probabilities = isLogits ? softmax(output) : Array.from(output);
  let best = 0;
  for (let i = 1; i < probabilities.length; i++)
    if (probabilities[i] > probabilities[best]) best = i;
  const label = classifier.entry.labels[best] ?? String(best);
  metrics.classifications.inc({ label, endpoint: "taylornet" });
  return {
    label,
    probabilities: Object.fromEntries(
      probabilities.map((p, i) => [classifier.entry.labels[i] ?? String(i), p]),
    ),
    model: { name: classifier.name, version: classifier.entry.version },
  };
}

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
