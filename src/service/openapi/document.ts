// The OpenAPI 3.1 document of every route, generated from the zod schemas that validate requests (KServe
// infer, query strings) and describe answers, with zod 4's own JSON Schema output (draft 2020-12, as 3.1 uses).
import { createRequire } from "node:module";
import {
  ErrorResponse,
  InferRequest,
  InferResponse,
  ModelMetadata,
  ModelReady,
  ServerLive,
  ServerMetadata,
  ServerReady,
} from "../kserve/contract.js";
import { classifySchema, preprocessingSchema } from "../routes/query.js";
import {
  Classification,
  Health,
  ModelList,
  NativeError,
  NotReady,
  PixelsBody,
  Prediction,
  Ready,
} from "./native-schemas.js";
import {
  imageRequest,
  type JsonSchema,
  jsonContent,
  NATIVE_ERRORS,
  ok,
  oneOrMany,
  pathParameter,
  queryParameters,
  responses,
  schemaOf,
} from "./parts.js";
import { webPaths } from "./web-paths.js";

const KSERVE_ERRORS = {
  400: "Bad request: datatype, shape, data, range, parameters",
  404: "No such model or version loaded",
  413: "Body larger than the largest valid tensor needs",
  415: "Content type other than application/json or application/octet-stream",
  503: "Models not loaded yet",
};

function kserveModelPaths(base: string, parameters: unknown[]) {
  return {
    [base]: {
      get: {
        summary: "Model metadata",
        parameters,
        responses: responses(
          ok("Model metadata", jsonContent(ModelMetadata)),
          { 404: KSERVE_ERRORS[404] },
          ErrorResponse,
        ),
      },
    },
    [`${base}/ready`]: {
      get: {
        summary: "Model readiness",
        parameters,
        responses: responses(
          ok("The model is loaded", jsonContent(ModelReady)),
          { 404: KSERVE_ERRORS[404] },
          ErrorResponse,
        ),
      },
    },
    [`${base}/infer`]: {
      post: {
        summary: "Run the model on a tensor (binary tensor data and classification extensions)",
        parameters: [
          ...parameters,
          {
            name: "Inference-Header-Content-Length",
            in: "header",
            required: false,
            schema: { type: "integer", minimum: 0 },
            description:
              "Binary tensor data extension: bytes of the JSON header before the tensors",
          },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: schemaOf(InferRequest, "input") },
            "application/octet-stream": {
              schema: { type: "string", format: "binary" },
              description: "The JSON inference request, then the binary tensors in input order",
            },
          },
        },
        responses: responses(
          {
            200: {
              description: "The outputs; binary ones after the JSON header when asked for",
              headers: {
                "Inference-Header-Content-Length": {
                  description: "Present with binary outputs: bytes of the JSON header",
                  schema: { type: "integer" },
                },
              },
              content: {
                ...jsonContent(InferResponse),
                "application/octet-stream": { schema: { type: "string", format: "binary" } },
              },
            },
          },
          KSERVE_ERRORS,
          ErrorResponse,
        ),
      },
    },
  };
}

/** The document served at GET /openapi.json. */
export function openApiDocument(): JsonSchema {
  const version = (createRequire(import.meta.url)("../../../package.json") as { version: string })
    .version;
  const name = pathParameter("name", "A model name from models/manifest.json");
  const modelVersion = pathParameter("version", "The loaded version of the model");
  return {
    openapi: "3.1.0",
    info: {
      title: "cgnn",
      version,
      description:
        "Classification by angular similarity to distilled references, TaylorNet, and the Open Inference Protocol (KServe v2) over the loaded ONNX models.",
    },
    paths: {
      "/healthz": { get: { summary: "Liveness", responses: ok("Alive", jsonContent(Health)) } },
      "/readyz": {
        get: {
          summary: "Readiness",
          responses: {
            ...ok("Serving a loaded set", jsonContent(Ready)),
            503: { description: "Models not loaded yet", content: jsonContent(NotReady) },
          },
        },
      },
      "/v1/models": {
        get: {
          summary: "The loaded models and references",
          responses: responses(
            ok("Loaded models", jsonContent(ModelList)),
            { 503: NATIVE_ERRORS[503] },
            NativeError,
          ),
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: ok("Text exposition format", { "text/plain": { schema: { type: "string" } } }),
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          responses: ok("OpenAPI 3.1", { "application/json": { schema: { type: "object" } } }),
        },
      },
      "/classify": {
        post: {
          summary: "Classify image(s) by the nearest distilled references",
          parameters: queryParameters(classifySchema),
          requestBody: imageRequest(),
          responses: responses(
            ok(
              "One result per image (an array for the images field)",
              jsonContent(oneOrMany(Classification)),
            ),
            NATIVE_ERRORS,
            NativeError,
          ),
        },
      },
      "/taylornet/predict": {
        post: {
          summary: "TaylorNet label and class probabilities for image(s) or JSON pixels",
          parameters: queryParameters(preprocessingSchema),
          requestBody: imageRequest(PixelsBody),
          responses: responses(
            ok(
              "One prediction per image (an array for the images field)",
              jsonContent(oneOrMany(Prediction)),
            ),
            { ...NATIVE_ERRORS },
            NativeError,
          ),
        },
      },
      "/v2": {
        get: {
          summary: "Server metadata",
          responses: ok("Server metadata", jsonContent(ServerMetadata)),
        },
      },
      "/v2/health/live": {
        get: { summary: "Server liveness", responses: ok("Live", jsonContent(ServerLive)) },
      },
      "/v2/health/ready": {
        get: {
          summary: "Server readiness",
          responses: {
            ...ok("Ready", jsonContent(ServerReady)),
            503: { description: "Not ready", content: jsonContent(ServerReady) },
          },
        },
      },
      ...kserveModelPaths("/v2/models/{name}", [name]),
      ...kserveModelPaths("/v2/models/{name}/versions/{version}", [name, modelVersion]),
      ...webPaths(),
    },
  };
}
