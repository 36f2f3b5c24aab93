// One JSON access line per request through pino: info, 4xx warn, 5xx error, each with its requestId, method,
// url, address, status and milliseconds. Written by hand on pino rather than with pino-http, whose per-request
// child logger and serializers cost more CPU than the line itself; probes and /metrics never reach it.
import type { NextFunction, Request, Response } from "express";
import { type Logger, pinoOf } from "../log.js";
import { idOf } from "./request-id.js";

export function accessLog(log: Logger) {
  const logger = pinoOf(log);
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    // The URL as it arrived (routers rewrite req.url while they run).
    const url = req.originalUrl;
    res.once("close", () => {
      const status = res.statusCode;
      const finished = res.writableFinished;
      const level = !finished || status >= 500 ? "error" : status >= 400 ? "warn" : "info";
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          requestId: idOf(req),
          req: { method: req.method, url, remoteAddress: req.socket.remoteAddress },
          res: { status: finished ? status : null },
          ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        },
        finished ? "request_completed" : "request_failed",
      );
    });
    next();
  };
}
