// Bounds a request body in all: a Content-Length over the bound is refused before reading, and a
// streamed (chunked) body is counted as it arrives and refused the moment it crosses the bound.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { tooLarge } from "../errors.js";

function refusal(limit: number) {
  return tooLarge(
    "request_too_large",
    `the request body is larger than the ${limit} bytes allowed per request (--max-request-bytes)`,
  );
}

/**
 * Runs `parse` (a parser that pipes `req` synchronously when called, as multer does) with the
 * body bounded to `limit` bytes. Over the bound: 413 at once, the parser detached, the connection
 * closed after the answer; nothing more of the body is kept.
 */
export function boundedBody(limit: number, parse: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) return refuse(res, next, limit);
    let received = 0;
    let settled = false;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit || settled) return;
      settled = true;
      req.off("data", count);
      req.unpipe();
      refuse(res, next, limit);
    };
    req.on("data", count);
    parse(req, res, (error?: unknown) => {
      if (settled) return;
      settled = true;
      req.off("data", count);
      next(error);
    });
  };
}

function refuse(res: Response, next: NextFunction, limit: number) {
  // The rest of the body is not read: node closes a "Connection: close" socket once the answer is out.
  res.setHeader("Connection", "close");
  next(refusal(limit));
}
