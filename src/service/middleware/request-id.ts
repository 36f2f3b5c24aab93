// Every request gets an id: the client's X-Request-Id when it is a sane token, else the trace id of a W3C
// traceparent, else a new UUID; it comes back in X-Request-Id on every response and names the request in logs.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, Response } from "express";

export const REQUEST_ID_HEADER = "x-request-id";

/** Printable, header-safe and short: what a proxy or client generates (UUIDs, hex, base64, dotted ids). */
const SAFE_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

/** version-traceid-parentid-flags, https://www.w3.org/TR/trace-context/#traceparent-header */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The id a request carries (incoming header or traceparent), or a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  if (typeof given === "string" && SAFE_ID.test(given)) return given;
  const traceparent = req.headers.traceparent;
  if (typeof traceparent === "string") {
    const trace = TRACEPARENT.exec(traceparent.trim().toLowerCase())?.[1];
    // All-zero trace ids are invalid by the spec.
    if (trace && !/^0+$/.test(trace)) return trace;
  }
  return randomUUID();
}

/** The id requestId() gave this request. */
export const idOf = (req: Request): string | undefined => (req as Request & { id?: string }).id;

/** Sets req.id and the X-Request-Id response header. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const id = requestIdOf(req);
  (req as Request & { id: string }).id = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  next();
}
