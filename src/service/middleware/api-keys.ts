// Optional API keys: with keys configured, every request outside the open paths must carry one
// (Authorization: Bearer <key>, or X-API-Key), compared in constant time; otherwise a 401.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { NextFunction, Request, Response } from "express";
import { ConfigError } from "../../config.js";
import { HttpError } from "../errors.js";

/** The keys of CGNN_API_KEYS and of the keys file (one a line, blank lines and # comments skipped). */
export function loadApiKeys(config: {
  apiKeys: readonly string[];
  apiKeysFile?: string;
}): string[] {
  const keys = [...config.apiKeys];
  if (config.apiKeysFile) {
    let text: string;
    try {
      text = readFileSync(config.apiKeysFile, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read the API keys file: ${(error as Error).message}`);
    }
    for (const line of text.split(/\r?\n/)) {
      const key = line.trim();
      if (key && !key.startsWith("#")) keys.push(key);
    }
    if (keys.length === 0) throw new ConfigError(`${config.apiKeysFile} holds no API key`);
  }
  for (const key of keys) {
    if (key.length < 16 || /\s/.test(key)) {
      throw new ConfigError("an API key is shorter than 16 characters or holds whitespace");
    }
  }
  return keys;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** The key a request presents, if any. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return match?.[1];
  }
  const header = req.headers["x-api-key"];
  return typeof header === "string" && header ? header : undefined;
}

/**
 * Checks keys by comparing sha256 digests with timingSafeEqual against every key (no early exit),
 * so neither a key's length nor its first differing byte shows in the time taken.
 */
export function apiKeyCheck(keys: readonly string[], openPaths: readonly string[]) {
  const digests = keys.map(digest);
  const open = new Set(openPaths);
  return (req: Request, res: Response, next: NextFunction) => {
    if (open.has(req.path)) return next();
    const key = presentedKey(req);
    let ok = false;
    if (key !== undefined) {
      const given = digest(key);
      for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    }
    if (ok) return next();
    res.set("WWW-Authenticate", 'Bearer realm="cgnn"');
    next(
      new HttpError(
        401,
        "unauthorized",
        key === undefined
          ? "an API key is required (Authorization: Bearer <key> or X-API-Key)"
          : "the API key is not valid",
      ),
    );
  };
}
