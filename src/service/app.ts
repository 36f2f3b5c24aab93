// The express application, in order: request metrics and id, the access log (probes skipped), security headers,
// CORS, API keys, then the probes and /metrics (before the rest), rate limits, the routes, 404s and the errors;
// plain probe requests are answered before all of it (probe-fast-path.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Config } from "../config.js";
import { CLIENT_CLOSED_STATUS, clientClosed, notFound, toHttpError } from "./errors.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { accessLog } from "./middleware/access-log.js";
import { apiKeyCheck, loadApiKeys } from "./middleware/api-keys.js";
import { cors } from "./middleware/cors.js";
import { rateLimit } from "./middleware/rate-limit.js";
import { idOf, requestId } from "./middleware/request-id.js";
import { securityHeaders } from "./middleware/security-headers.js";
import { fastProbes } from "./probe-fast-path.js";
import { classifyRouter } from "./routes/classify.js";
import { explainRouter } from "./routes/explain.js";
import { healthRouter, PROBE_PATHS } from "./routes/health.js";
import { kserveRouter } from "./routes/kserve.js";
import { modelsRouter } from "./routes/models.js";
import { openApiRouter } from "./routes/openapi.js";
import { polynomialRouter } from "./routes/polynomial.js";
import { referencesRouter } from "./routes/references.js";
import { taylornetRouter } from "./routes/taylornet.js";
import { webRouter } from "./routes/web.js";
import type { ServingState } from "./state.js";

export interface AppDeps {
  config: Config;
  state: ServingState;
  metrics: Metrics;
  log: Logger;
}

const isKservePath = (path: string) => path === "/v2" || path.startsWith("/v2/");

function routeOf(req: Request): string {
  return req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
}

/** The client went away before its request body was complete: nobody is left to answer. */
function clientGone(req: Request): boolean {
  return !req.complete && (req.destroyed || req.socket.destroyed);
}

function errorMessage(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/** Builds the app; throws ConfigError when the API keys file cannot be read or holds bad keys. */
export function createApp({ config, state, metrics, log }: AppDeps): express.Express {
  const apiKeys = loadApiKeys(config);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    metrics.httpInFlight.inc();
    // "close" also comes when the client goes away first: counted as 499, as nginx does.
    res.once("close", () => {
      metrics.httpInFlight.dec();
      const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_STATUS;
      const labels = { method: req.method, route: routeOf(req), code: String(status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });
  app.use(requestId);
  // Before the key check, so that refused requests are logged too; probes and /metrics pass unlogged.
  app.use(accessLog(log, PROBE_PATHS));
  app.use(securityHeaders({ crossOrigin: config.corsOrigins.length > 0 }));
  if (config.corsOrigins.length > 0) app.use(cors(config.corsOrigins));
  if (apiKeys.length > 0) app.use(apiKeyCheck(apiKeys, config.authOpenPaths));

  app.use(healthRouter(state, metrics));
  if (config.rateLimit > 0) {
    const burst = config.rateLimitBurst ?? Math.max(1, Math.ceil(config.rateLimit));
    app.use(rateLimit(config.rateLimit, burst));
  }
  app.use(modelsRouter(state, config));
  app.use(classifyRouter(config, state, metrics));
  app.use(taylornetRouter(config, state, metrics));
  app.use(kserveRouter(config, state));
  app.use(openApiRouter());
  app.use(webRouter());
  app.use(referencesRouter(state, config));
  app.use(explainRouter(config, state));
  app.use(polynomialRouter(state));

  app.use((req, _res, next) => next(notFound(`no route ${req.method} ${req.path}`)));

  app.use((thrown: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(thrown);
    const error = clientGone(req) ? clientClosed() : toHttpError(thrown);
    const requestId = idOf(req);
    if (error.status === CLIENT_CLOSED_STATUS) {
      log("request_aborted", {
        requestId,
        method: req.method,
        path: req.path,
        cause: errorMessage(thrown),
      });
    } else if (error.status === 500) {
      log("request_error", {
        requestId,
        method: req.method,
        path: req.path,
        error: String((thrown as Error)?.stack ?? thrown),
      });
    }
    metrics.httpErrors.inc({ route: routeOf(req), code: String(error.status), error: error.code });
    if (error.status === CLIENT_CLOSED_STATUS) {
      res.status(error.status).end();
      return;
    }
    // The Open Inference Protocol's error body under /v2; the native endpoints keep {code, message}.
    const body = isKservePath(req.path)
      ? { error: error.message }
      : { error: { code: error.code, message: error.message } };
    res.set(error.headers);
    res.status(error.status).json(body);
  });
  answerProbesFirst(
    app,
    fastProbes({ config, state, metrics, log, keysRequired: apiKeys.length > 0 }),
  );
  return app;
}

type Handle = (req: IncomingMessage, res: ServerResponse, callback?: unknown) => void;

/**
 * The app is the server's request listener, and calls its own `handle` for every request: wrapped
 * here, a plain probe is answered before Express builds its request and runs the middleware, so
 * that probes stay cheap when /classify saturates the event loop (issue 15).
 */
function answerProbesFirst(
  app: express.Express,
  probe: (req: IncomingMessage, res: ServerResponse) => boolean,
): void {
  const target = app as unknown as { handle: Handle };
  const handle = target.handle.bind(app);
  target.handle = (req, res, callback) => {
    if (!probe(req, res)) handle(req, res, callback);
  };
}
