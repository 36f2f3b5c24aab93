// Query-string validation for the image endpoints: known keys only, typed, with messages naming the bad value.
import type { Request } from "express";
import { z } from "zod";
import { unprocessable } from "../errors.js";

const bool = z.enum(["true", "false"]).transform((v) => v === "true");

export interface ClassifyQuery {
  k: number;
  level: number;
  /** Overrides the manifest's open-set threshold for the level (-1 turns "unknown" off). */
  minSimilarity?: number;
  /** Absent: the model's preprocessing decides. */
  invert?: "auto" | boolean;
  frame?: boolean;
}

/** Validates `req.query` with a schema built once (building one per request costs more than parsing). */
export function parseQuery<T extends z.ZodType>(req: Request, schema: T): z.infer<T> {
  const result = schema.safeParse(req.query ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".");
    const what =
      issue.code === "unrecognized_keys"
        ? `unknown query parameter ${key}`
        : `query ${key}: ${issue.message}`;
    throw unprocessable("bad_query", what);
  }
  return result.data;
}

/** Preprocessing overrides shared by every image endpoint; absent ones follow the model's manifest. */
export const preprocessingQuery = {
  invert: z.union([z.literal("auto"), bool]).optional(),
  frame: bool.optional(),
};

export const preprocessingSchema = z.strictObject(preprocessingQuery);

export const classifySchema = z.strictObject({
  k: z.coerce.number().int().min(1).max(100).optional(),
  level: z.coerce.number().int().min(1).max(5).optional(),
  minSimilarity: z.coerce.number().min(-1).max(1).optional(),
  ...preprocessingQuery,
});

export function classifyQuery(req: Request, defaults: { k: number; level: number }): ClassifyQuery {
  const { k, level, ...rest } = parseQuery(req, classifySchema);
  return { k: k ?? defaults.k, level: level ?? defaults.level, ...rest };
}
