// Runs a handler with the serving set leased for exactly its duration (503 before models load), so a
// retired set closes only after every handler using it has finished, even if its client went away.
import type { Request, RequestHandler, Response } from "express";
import { notReady } from "../errors.js";
import type { ServingSet } from "../serving-set.js";
import type { ServingState } from "../state.js";

export function withServingSet<P = Record<string, string>>(
  state: ServingState,
  handler: (req: Request<P>, res: Response, set: ServingSet) => Promise<void>,
): RequestHandler<P> {
  return async (req, res) => {
    const lease = state.acquire();
    if (!lease) throw notReady();
    try {
      await handler(req, res, lease.set);
    } finally {
      lease.release();
    }
  };
}
