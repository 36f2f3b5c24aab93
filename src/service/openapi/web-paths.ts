// The OpenAPI paths of the web page and the JSON/PNG endpoints it calls.
import { NativeError } from "./native-schemas.js";
import { imageRequest, NATIVE_ERRORS, ok, pathParameter, responses } from "./parts.js";

/** The web page's routes and their JSON/PNG endpoints (the page is their client; shapes in docs/API.md). */
export function webPaths() {
  const level = pathParameter("level", "A reference level (1 = largest set … 5 = one per class)");
  const file = pathParameter("file", "<index>.png: an image of the level, from 0");
  const json = (description: string) =>
    ok(description, { "application/json": { schema: { type: "object" } } });
  const png = (description: string) =>
    ok(description, { "image/png": { schema: { type: "string", format: "binary" } } });
  const text = (type: string, description: string) =>
    ok(description, { [type]: { schema: { type: "string" } } });
  const errors = (codes: Record<number, string>, answer: Record<string, unknown>) =>
    responses(answer, codes, NativeError);
  return {
    "/": { get: { summary: "The web page", responses: text("text/html", "The page") } },
    "/web/app.js": {
      get: { summary: "The page's script", responses: text("text/javascript", "One ES module") },
    },
    "/web/styles.css": {
      get: { summary: "The page's styles", responses: text("text/css", "Styles") },
    },
    "/taylornet/fig3.png": {
      get: {
        summary: "The paper's Fig. 3 as rendered here",
        responses: errors({ 404: "Not on this server" }, png("PNG")),
      },
    },
    "/references": {
      get: {
        summary:
          "The served reference set: version, classes, levels, metrics (ETag; 304 when unchanged)",
        responses: errors({ 503: NATIVE_ERRORS[503] }, json("The reference set")),
      },
    },
    "/references/levels/{level}/images/{file}": {
      get: {
        summary: "One distilled reference image",
        parameters: [level, file],
        responses: errors({ 404: "No such level or image", 503: NATIVE_ERRORS[503] }, png("PNG")),
      },
    },
    "/references/levels/{level}/sheet.png": {
      get: {
        summary: "A level's contact sheet (rows = classes)",
        parameters: [level],
        responses: errors(
          { 404: "No such level", 422: NATIVE_ERRORS[422], 503: NATIVE_ERRORS[503] },
          png("PNG"),
        ),
      },
    },
    "/explain": {
      post: {
        summary: "Why an image got its label: its nearest references per level",
        requestBody: imageRequest(),
        responses: errors(NATIVE_ERRORS, json("The explanation")),
      },
    },
    "/taylornet/polynomial": {
      get: {
        summary: "A tiny coarse-grained network expanded into its polynomial",
        responses: errors({ 422: NATIVE_ERRORS[422] }, json("The polynomial")),
      },
    },
    "/taylornet/coefficients": {
      get: {
        summary: "The served TaylorNet's largest Taylor coefficients",
        responses: errors(
          { 404: NATIVE_ERRORS[404], 422: NATIVE_ERRORS[422], 503: NATIVE_ERRORS[503] },
          json("The coefficients"),
        ),
      },
    },
  };
}
