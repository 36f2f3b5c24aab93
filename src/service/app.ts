// The express application: routes, request metrics, 404s and the one error middleware.
import express, { type NextFunction, type Request, type Response } from "express";
import type { Config } from "../config.js";
import { notFound, toHttpError } from "./errors.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { classifyRouter } from "./routes/classify.js";
import { healthRouter } from "./routes/health.js";
import { kserveRouter } from "./routes/kserve.js";
import { taylornetRouter } from "./routes/taylornet.js";
import type { ServingState } from "./state.js";

export interface AppDeps {
  config: Config;
  state: ServingState;
  metrics: Metrics;
  log: Logger;
}

function routeOf(req: Request): string {
  return req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
}

export function createApp({ config, state, metrics, log }: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.once("finish", () => {
      const labels = { method: req.method, route: routeOf(req), status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });

  app.use(healthRouter(state, metrics));
  app.use(classifyRouter(config, state, metrics));
  app.use(taylornetRouter(config, state, metrics));
  app.use(kserveRouter(config, state));

  app.use((req, _res, next) => next(notFound(`no route ${req.method} ${req.path}`)));

  app.use((thrown: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(thrown);
    const error = toHttpError(thrown);
    if (error.status === 500) {
      log("request_error", {
        method: req.method,
        path: req.path,
        error: String((thrown as Error)?.stack ?? thrown),
      });
    }
    metrics.httpErrors.inc({ route: routeOf(req), code: error.code });
    res.set(error.headers);
    res.status(error.status).json({ error: { code: error.code, message: error.message } });
  });
  return app;
}
