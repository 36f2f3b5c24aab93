// /healthz, /readyz and /metrics answered straight from the http request, before Express and its middleware
// run, with the bytes and metrics the Express routes (routes/health.ts) give; anything unusual goes to Express.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config.js";
import { toHttpError } from "./errors.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { REQUEST_ID_HEADER, requestIdOf } from "./middleware/request-id.js";
import { securityHeaderValues } from "./middleware/security-headers.js";
import { HEALTH_BODY, readiness, scrape } from "./routes/health.js";
import type { ServingState } from "./state.js";

export interface FastProbeDeps {
  config: Pick<Config, "corsOrigins" | "authOpenPaths">;
  state: ServingState;
  metrics: Metrics;
  log: Logger;
  /** True when API keys are configured (then only the open paths are answered here). */
  keysRequired: boolean;
}

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** What Express's res.json sends as the type. */
const JSON_TYPE = "application/json; charset=utf-8";
const HEALTH = JSON.stringify(HEALTH_BODY);

/**
 * Returns a handler that answers a plain GET or HEAD of a probe path (the exact path, no query
 * string, no CORS Origin to answer, no API key needed) and returns true; or returns false having
 * touched nothing, and Express answers the request (the same way: routes/health.ts).
 */
export function fastProbes({ config, state, metrics, log, keysRequired }: FastProbeDeps) {
  const cors = config.corsOrigins.length > 0;
  const open = new Set(config.authOpenPaths);
  const security = Object.entries(securityHeaderValues({ crossOrigin: cors }));
  const probes = new Map<string, () => Answer | Promise<Answer>>([
    ["/healthz", () => ({ status: 200, type: JSON_TYPE, body: HEALTH })],
    [
      "/readyz",
      () => {
        const { status, body } = readiness(state);
        return { status, type: JSON_TYPE, body: JSON.stringify(body) ?? "" };
      },
    ],
    [
      "/metrics",
      async () => ({
        status: 200,
        type: metrics.registry.contentType,
        body: await scrape(state, metrics),
      }),
    ],
  ]);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") return false;
    const path = req.url ?? "";
    const probe = probes.get(path);
    if (!probe) return false;
    if (keysRequired && !open.has(path)) return false;
    if (cors && req.headers.origin !== undefined) return false;
    const started = process.hrtime.bigint();
    metrics.httpInFlight.inc();
    res.once("close", () => {
      metrics.httpInFlight.dec();
      const labels = { method, route: path, code: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    const requestId = requestIdOf(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    for (const [name, value] of security) res.setHeader(name, value);
    const send = ({ status, type, body }: Answer) => {
      res.statusCode = status;
      res.setHeader("Content-Type", type);
      res.setHeader("Content-Length", Buffer.byteLength(body));
      res.end(method === "HEAD" ? undefined : body);
    };
    // What app.ts's error middleware does with a throw: a logged 500 that names no internals.
    const fail = (thrown: unknown) => {
      const error = toHttpError(thrown);
      log("request_error", {
        requestId,
        method,
        path,
        error: String((thrown as Error)?.stack ?? thrown),
      });
      metrics.httpErrors.inc({ route: path, code: String(error.status), error: error.code });
      const body = { error: { code: error.code, message: error.message } };
      send({ status: error.status, type: JSON_TYPE, body: JSON.stringify(body) });
    };
    try {
      const answer = probe();
      if (answer instanceof Promise) answer.then(send, fail);
      else send(answer);
    } catch (thrown) {
      fail(thrown);
    }
    return true;
  };
}
