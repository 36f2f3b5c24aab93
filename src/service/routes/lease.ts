// Middleware that leases the serving set for one request (503 before models are loaded) and returns it when the response ends.
import type { NextFunction, Request, Response } from "express";
import { notReady } from "../errors.js";
import type { ServingSet } from "../serving-set.js";
import type { ServingState } from "../state.js";

export function leaseServingSet(state: ServingState) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const lease = state.acquire();
    if (!lease) return next(notReady());
    res.locals.servingSet = lease.set;
    res.once("finish", lease.release);
    res.once("close", lease.release);
    next();
  };
}

/** The set leased for this request by leaseServingSet. */
export function servingSet(res: Response): ServingSet {
  return res.locals.servingSet as ServingSet;
}
