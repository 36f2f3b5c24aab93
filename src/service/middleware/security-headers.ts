// The usual security headers on every response (what helmet sets, by hand): API answers get a CSP that
// allows nothing; the web page's routes replace it with the page's own (src/service/routes/web.ts).
import type { NextFunction, Request, Response } from "express";

/** Nothing loads from an API response, and nothing frames it. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The headers, by name as sent. */
export function securityHeaderValues(options: { crossOrigin: boolean }): Record<string, string> {
  return {
    "Content-Security-Policy": API_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    // Pages on the configured CORS origins may also show the reference PNGs in <img>.
    "Cross-Origin-Resource-Policy": options.crossOrigin ? "cross-origin" : "same-origin",
    "Origin-Agent-Cluster": "?1",
    "X-DNS-Prefetch-Control": "off",
    "X-Permitted-Cross-Domain-Policies": "none",
  };
}

export function securityHeaders(options: { crossOrigin: boolean }) {
  const headers = securityHeaderValues(options);
  return (_req: Request, res: Response, next: NextFunction) => {
    res.set(headers);
    next();
  };
}
