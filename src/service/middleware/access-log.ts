// One JSON access line per request through pino: info, 4xx and client aborts warn, 5xx error, each with its requestId, method,
// url, address, status and milliseconds (refused requests included). Written by hand on pino rather than with pino-http, whose per-request
// child logger and serializers cost more CPU than the line itself; probes and /metrics are skipped.
import type { NextFunction, Request, Response } from "express";
import { CLIENT_CLOSED_STATUS } from "../errors.js";
import { type Logger, pinoOf } from "../log.js";
import { idOf } from "./request-id.js";

/** Logs every request but those to `quietPaths` (the probes). */
export function accessLog(log: Logger, quietPaths: readonly string[] = []) {
  const logger = pinoOf(log);
  const quiet = new Set(quietPaths);
  return (req: Request, res: Response, next: NextFunction) => {
    if (quiet.has(req.path)) return next();
    const started = process.hrtime.bigint();
    // The URL as it arrived (routers rewrite req.url while they run).
    const url = req.originalUrl;
    res.once("close", () => {
      const status = res.statusCode;
      const finished = res.writableFinished;
      // A client that went away before its answer was sent: 499 as in the metrics, a warning.
      const level =
        !finished || status >= 400 ? (finished && status >= 500 ? "error" : "warn") : "info";
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          requestId: idOf(req),
          req: { method: req.method, url, remoteAddress: req.socket.remoteAddress },
          res: { status: finished ? status : CLIENT_CLOSED_STATUS },
          ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        },
        finished ? "request_completed" : "request_failed",
      );
    });
    next();
  };
}
