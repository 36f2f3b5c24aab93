// Query-string validation for the image endpoints: known keys only, typed, with messages naming the bad value.
import type { Request } from "express";
import { z } from "zod";
import { unprocessable } from "../errors.js";

const bool = z.enum(["true", "false"]).transform((v) => v === "true");

export interface ClassifyQuery {
  k: number;
  level: number;
  invert: "auto" | boolean;
  frame: boolean;
}

export function parseQuery<T extends z.ZodRawShape>(
  req: Request,
  shape: T,
): z.infer<z.ZodObject<T>> {
  const result = z.strictObject(shape).safeParse(req.query ?? {});
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

/** Preprocessing options shared by every image endpoint. */
export const preprocessingQuery = {
  invert: z.union([z.literal("auto"), bool]).default("auto"),
  frame: bool.default(true),
};

export function classifyQuery(req: Request, defaults: { k: number; level: number }): ClassifyQuery {
  return parseQuery(req, {
    k: z.coerce.number().int().min(1).max(100).default(defaults.k),
    level: z.coerce.number().int().min(1).max(5).default(defaults.level),
    ...preprocessingQuery,
  });
}
