// Building blocks of the OpenAPI document: JSON Schema from zod, responses, parameters, the error tables.
import { z } from "zod";
import { ImageUpload } from "./native-schemas.js";

export type JsonSchema = Record<string, unknown>;

export function schemaOf(schema: z.ZodType, io: "input" | "output" = "output"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12" });
  return rest;
}

export const jsonContent = (schema: z.ZodType) => ({
  "application/json": { schema: schemaOf(schema) },
});
export const oneOrMany = (schema: z.ZodType) => z.union([schema, z.array(schema)]);

export function responses(
  ok: Record<string, unknown>,
  errors: Record<number, string>,
  error: z.ZodType,
) {
  return {
    ...ok,
    ...Object.fromEntries(
      Object.entries(errors).map(([status, description]) => [
        status,
        { description, content: jsonContent(error) },
      ]),
    ),
  };
}

export function queryParameters(schema: z.ZodObject): unknown[] {
  const json = schemaOf(schema, "input") as { properties: JsonSchema; required?: string[] };
  return Object.entries(json.properties).map(([name, s]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    schema: s,
  }));
}

export const pathParameter = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
  description,
});

export const NATIVE_ERRORS = {
  400: "Malformed body (JSON, multipart)",
  404: "No such model loaded",
  413: "Body or image over the limits",
  415: "Content type not accepted",
  422: "Well-formed but invalid request (query, fields, pixels, image)",
  503: "Models not loaded yet",
};
export const KSERVE_ERRORS = {
  400: "Bad request: datatype, shape, data, range, parameters",
  404: "No such model or version loaded",
  413: "Body larger than the largest valid tensor needs",
  415: "Content type other than application/json or application/octet-stream",
  503: "Models not loaded yet",
};

export const ok = (description: string, content: Record<string, unknown>) => ({
  200: { description, content },
});

export const imageRequest = (json?: z.ZodType) => ({
  required: true,
  content: {
    "multipart/form-data": { schema: schemaOf(ImageUpload, "input") },
    "image/*": { schema: { type: "string", format: "binary" } },
    ...(json ? { "application/json": { schema: schemaOf(json, "input") } } : {}),
  },
});
