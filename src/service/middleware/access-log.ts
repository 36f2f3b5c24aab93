// One JSON access line per request through pino-http (the ecosystem's choice): info, 4xx warn, 5xx error,
// each with its requestId, method, url, status and milliseconds; health probes and /metrics never reach it.
import type { IncomingMessage, ServerResponse } from "node:http";
import { pinoHttp } from "pino-http";
import { type Logger, pinoOf } from "../log.js";

function level(_req: IncomingMessage, res: ServerResponse, error?: Error) {
  if (error || res.statusCode >= 500) return "error" as const;
  if (res.statusCode >= 400) return "warn" as const;
  return "info" as const;
}

export function accessLog(log: Logger) {
  return pinoHttp({
    logger: pinoOf(log),
    // requestId() has set req.id already; pino-http keeps it.
    customAttributeKeys: { reqId: "requestId", responseTime: "ms" },
    quietReqLogger: true,
    customLogLevel: level,
    customSuccessMessage: () => "request_completed",
    customErrorMessage: () => "request_failed",
    serializers: {
      req: (req: { method: string; url: string; remoteAddress?: string }) => ({
        method: req.method,
        url: req.url,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
  });
}
