// GET /: the web page for people, served by the service itself with every asset (no CDN). The page's
// TypeScript (src/web/main.ts) is bundled by esbuild once, at the first request, and kept in memory.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type Response, Router } from "express";
import { notFound } from "../errors.js";

const WEB = fileURLToPath(new URL("../../web/", import.meta.url));
const FIG3 = fileURLToPath(new URL("../../../docs/fig3-order4.png", import.meta.url));

/** The page's script: src/web/main.ts and its imports as one ES module, deterministic for a source. */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [`${WEB}main.ts`],
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: false,
    write: false,
    charset: "utf8",
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    if (!value) {
      value = load();
      value.catch(() => {
        value = undefined;
      });
    }
    return value;
  };
}

const script = once(bundlePage);
const html = once(() => readFile(`${WEB}index.html`, "utf8"));
const css = once(() => readFile(`${WEB}styles.css`, "utf8"));

/** Same-origin everything: the page loads nothing from elsewhere, and no inline script runs. */
const CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function send(res: Response, type: string, body: string | Buffer): void {
  res.set({
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
  });
  res.type(type).send(body);
}

export function webRouter(): Router {
  const router = Router();
  router.get("/", async (_req, res) => send(res, "html", await html()));
  router.get("/web/app.js", async (_req, res) => send(res, "js", await script()));
  router.get("/web/styles.css", async (_req, res) => send(res, "css", await css()));
  router.get("/taylornet/fig3.png", async (_req, res) => {
    if (!existsSync(FIG3)) throw notFound("docs/fig3-order4.png is not present on this server");
    send(res, "png", await readFile(FIG3));
  });
  return router;
}
