// The web page's routes in the OpenAPI document: the page and its assets, the live reference
// gallery, /explain (the input as the model saw it, nearest references per level) and TaylorNet's
// polynomial views.
import { z } from "zod";
import { explainSchema } from "../routes/explain.js";
import { coefficientsSchema, polynomialSchema } from "../routes/polynomial.js";
import { sheetSchema } from "../routes/references.js";
import { NativeError } from "./native-schemas.js";
import {
  imageRequest,
  jsonContent,
  NATIVE_ERRORS,
  ok,
  pathParameter,
  queryParameters,
  responses,
} from "./parts.js";

const png = { "image/png": { schema: { type: "string", format: "binary" } } };
const text = (type: string) => ({ [type]: { schema: { type: "string" } } });
const notReady = { 503: NATIVE_ERRORS[503] };

const ModelRef = z.strictObject({ name: z.string(), version: z.string() });

export const ReferenceGallery = z.looseObject({
  version: z.string(),
  generation: z.number().int(),
  etag: z.string(),
  classes: z.array(z.string()),
  shape: z.array(z.number().int()),
  levels: z.array(
    z.looseObject({
      level: z.number().int(),
      count: z.number().int(),
      perClass: z.record(z.string(), z.number().int()),
      sheet: z.string(),
    }),
  ),
});

export const Explanation = z.looseObject({
  model: ModelRef,
  references: z.strictObject({ version: z.string(), generation: z.number().int() }),
  input: z.looseObject({ width: z.number().int(), height: z.number().int(), png: z.string() }),
  levels: z.array(
    z.looseObject({
      level: z.number().int(),
      label: z.string(),
      similarity: z.number(),
      neighbours: z.array(z.looseObject({ similarity: z.number(), image: z.string() })),
    }),
  ),
});

export const PolynomialTerms = z.looseObject({
  network: z.looseObject({ name: z.string() }),
  variables: z.array(z.string()),
  outputs: z.array(
    z.looseObject({
      output: z.number().int(),
      degree: z.number().int(),
      terms: z.number().int(),
      top: z.array(z.looseObject({ coefficient: z.number(), monomial: z.string() })),
    }),
  ),
});

export const Coefficients = z.looseObject({
  model: ModelRef,
  labels: z.array(z.string()),
  variables: z.array(z.string()),
  method: z.looseObject({ kind: z.string(), step: z.number(), probes: z.number().int() }),
  classes: z.array(z.looseObject({})),
});

const level = pathParameter("level", "A level of the served reference set (1 = most concrete)");

export function webPaths() {
  return {
    "/": { get: { summary: "The web page", responses: ok("HTML", text("text/html")) } },
    "/web/app.js": {
      get: { summary: "The page's script", responses: ok("JavaScript", text("text/javascript")) },
    },
    "/web/styles.css": {
      get: { summary: "The page's styles", responses: ok("CSS", text("text/css")) },
    },
    "/taylornet/fig3.png": {
      get: {
        summary: "The direct Taylor expansion's Fig. 3 plot, when the project has one",
        responses: responses(ok("PNG", png), { 404: "No plot" }, NativeError),
      },
    },
    "/references": {
      get: {
        summary: "The served reference set: version, classes, levels, metrics (ETag, 304)",
        responses: responses(ok("The set", jsonContent(ReferenceGallery)), notReady, NativeError),
      },
    },
    "/references/levels/{level}/images/{file}": {
      get: {
        summary: "One reference image as PNG ({id}.png)",
        parameters: [
          level,
          pathParameter("file", "The reference's index at that level, with .png"),
        ],
        responses: responses(
          ok("PNG", png),
          { 404: "No such level or image", ...notReady },
          NativeError,
        ),
      },
    },
    "/references/levels/{level}/sheet.png": {
      get: {
        summary: "A level's contact sheet: one row per class",
        parameters: [level, ...queryParameters(sheetSchema)],
        responses: responses(
          ok("PNG", png),
          { 404: "No such level", 422: NATIVE_ERRORS[422], ...notReady },
          NativeError,
        ),
      },
    },
    "/explain": {
      post: {
        summary: "One image: the input as the model saw it and its nearest references per level",
        parameters: queryParameters(explainSchema),
        requestBody: imageRequest(),
        responses: responses(
          ok("The explanation", jsonContent(Explanation)),
          NATIVE_ERRORS,
          NativeError,
        ),
      },
    },
    "/taylornet/polynomial": {
      get: {
        summary: "The largest terms of a small CG network's explicit polynomial",
        parameters: queryParameters(polynomialSchema),
        responses: responses(
          ok("The polynomial", jsonContent(PolynomialTerms)),
          { 422: NATIVE_ERRORS[422] },
          NativeError,
        ),
      },
    },
    "/taylornet/coefficients": {
      get: {
        summary: "The served TaylorNet's linear, square and pair coefficients, read by probing",
        parameters: queryParameters(coefficientsSchema),
        responses: responses(
          ok("The coefficients", jsonContent(Coefficients)),
          { 404: NATIVE_ERRORS[404], 422: NATIVE_ERRORS[422], ...notReady },
          NativeError,
        ),
      },
    },
  };
}
