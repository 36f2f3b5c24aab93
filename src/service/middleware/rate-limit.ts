// Optional per-client rate limits: a token bucket per client (its API key when it sent one, else its
// address), refilled at `rate` per second up to `burst`; past it a 429 with Retry-After.
import { createHash } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { HttpError } from "../errors.js";
import { presentedKey } from "./api-keys.js";

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets idle this long are full again and are dropped (bounds the map). */
const SWEEP_MS = 60_000;

function clientOf(req: Request): string {
  const key = presentedKey(req);
  if (key) return `key:${createHash("sha256").update(key).digest("base64url").slice(0, 22)}`;
  return `ip:${req.socket.remoteAddress ?? "unknown"}`;
}

export function rateLimit(rate: number, burst: number, now: () => number = Date.now) {
  const buckets = new Map<string, Bucket>();
  let swept = now();
  return (req: Request, res: Response, next: NextFunction) => {
    const t = now();
    if (t - swept > SWEEP_MS) {
      for (const [client, b] of buckets) {
        if (b.tokens + ((t - b.at) / 1000) * rate >= burst) buckets.delete(client);
      }
      swept = t;
    }
    const client = clientOf(req);
    const bucket = buckets.get(client) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * rate);
    bucket.at = t;
    buckets.set(client, bucket);
    res.set("RateLimit-Limit", String(burst));
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      res.set("RateLimit-Remaining", String(Math.floor(bucket.tokens)));
      return next();
    }
    const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    res.set("RateLimit-Remaining", "0");
    next(
      new HttpError(
        429,
        "rate_limited",
        `more than ${rate} requests per second; retry in ${wait} s`,
        {
          "retry-after": String(wait),
        },
      ),
    );
  };
}
