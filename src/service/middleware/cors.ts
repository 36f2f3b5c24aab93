// CORS for pages served from other origins (CGNN_CORS_ORIGINS): allowed origins get the headers they need,
// preflights are answered here (before API keys: browsers send none on a preflight), others get nothing.
import type { NextFunction, Request, Response } from "express";
import { HttpError } from "../errors.js";

const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "X-API-Key",
  "X-Request-Id",
  "traceparent",
  "Inference-Header-Content-Length",
].join(", ");

/** Response headers a page script may read. */
const EXPOSED_HEADERS = [
  "X-Request-Id",
  "Retry-After",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "Inference-Header-Content-Length",
  "ETag",
].join(", ");

export function cors(origins: readonly string[]) {
  const any = origins.includes("*");
  const allowed = new Set(origins.map((o) => o.replace(/\/+$/, "").toLowerCase()));
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (!origin) return next();
    res.vary("Origin");
    const ok = any || allowed.has(origin.toLowerCase());
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"];
    if (!ok) {
      if (preflight)
        return next(new HttpError(403, "origin_not_allowed", `origin ${origin} is not allowed`));
      return next();
    }
    res.set("Access-Control-Allow-Origin", any ? "*" : origin);
    if (!preflight) {
      res.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
      return next();
    }
    res.set({
      "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
      "Access-Control-Allow-Headers": ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
    });
    res.status(204).end();
  };
}
