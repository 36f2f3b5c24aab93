// The served reference set for people: its description (polled by the web page to follow hot
// reloads), each distilled image as a PNG, and a contact sheet of a level (rows = classes).
import { type Request, type Response, Router } from "express";
import { z } from "zod";
import { gridPng } from "../../data/contact-sheet.js";
import { encodePng } from "../../data/png-encode.js";
import type { ReferenceImages } from "../../index/reference-index.js";
import { notFound, notReady } from "../errors.js";
import { withoutProvenance } from "../provenance.js";
import type { ServingSet } from "../serving-set.js";
import type { ServingState } from "../state.js";
import { parseQuery } from "./query.js";

type Level = ReferenceImages["levels"][number];

/** A strong validator of what /references describes: changes whenever a new set is swapped in. */
export function referencesEtag(set: ServingSet): string {
  return `"refs-${set.generation}-${set.references.version}"`;
}

function current(state: ServingState): ServingSet {
  const set = state.current;
  if (!set) throw notReady();
  return set;
}

function levelOf(set: ServingSet, raw: string): Level {
  const images = set.referenceImages;
  const level = images.levels.find((l) => String(l.level) === raw);
  if (!level) {
    const have = images.levels.map((l) => l.level).join(", ");
    throw notFound(`references ${images.version} have no level ${raw} (levels: ${have})`);
  }
  return level;
}

/** The PNG of reference `id` of `level`: its own pixels, not upscaled. */
export function referencePng(images: ReferenceImages, level: Level, id: number): Buffer {
  const size = images.height * images.width * images.channels;
  const pixels = level.images.subarray(id * size, (id + 1) * size);
  return encodePng(pixels, images.width, images.height, images.channels);
}

/** The URL path of one reference image, as the API and the page name it. */
export const referenceImagePath = (level: number, id: number) =>
  `/references/levels/${level}/images/${id}.png`;

/** Answers 304 when the client already holds `etag`; otherwise sets it (revalidate every time). */
function fresh(req: Request, res: Response, etag: string): boolean {
  res.set({ ETag: etag, "Cache-Control": "no-cache" });
  if (req.headers["if-none-match"] === etag) {
    res.status(304).end();
    return true;
  }
  return false;
}

function describe(set: ServingSet, exposeProvenance: boolean) {
  const keep = <T>(value: T): T => (exposeProvenance ? value : withoutProvenance(value));
  const images = set.referenceImages;
  const entry = set.referencesEntry;
  const embedder = set.models.get(entry.embedder)?.entry;
  return {
    version: images.version,
    generation: set.generation,
    etag: referencesEtag(set),
    loadedAt: set.loadedAt.toISOString(),
    embedder: { name: entry.embedder, version: embedder?.version ?? null },
    data: keep(embedder?.data ?? null),
    classes: images.classes,
    shape: [images.height, images.width, images.channels],
    defaultLevel: entry.defaultLevel ?? null,
    levels: images.levels.map((l) => ({
      level: l.level,
      count: l.count,
      perClass: Object.fromEntries(
        images.classes.map((name, c) => [name, l.labels.filter((x) => x === c).length]),
      ),
      sheet: `/references/levels/${l.level}/sheet.png`,
    })),
    metrics: keep(entry.metrics ?? {}),
    command: exposeProvenance ? (entry.command ?? null) : null,
    createdAt: entry.createdAt ?? null,
  };
}

export const sheetSchema = z.strictObject({
  perClass: z.coerce.number().int().min(1).max(100).default(20),
  scale: z.coerce.number().int().min(1).max(4).default(2),
});

/** Sheets are cached per set (a retired set's cache goes with it). */
const sheets = new WeakMap<ServingSet, Map<string, Promise<Buffer>>>();

function sheetPng(set: ServingSet, level: Level, perClass: number, scale: number) {
  let cache = sheets.get(set);
  if (!cache) {
    cache = new Map();
    sheets.set(set, cache);
  }
  const key = `${level.level}/${perClass}/${scale}`;
  let png = cache.get(key);
  if (!png) {
    const images = set.referenceImages;
    const size = images.height * images.width * images.channels;
    const rows: Float32Array[][] = images.classes.map(() => []);
    level.labels.forEach((label, i) => {
      if (rows[label].length < perClass) {
        rows[label].push(level.images.subarray(i * size, (i + 1) * size));
      }
    });
    png = gridPng(rows, images, scale);
    png.catch(() => cache.delete(key));
    cache.set(key, png);
  }
  return png;
}

export function referencesRouter(
  state: ServingState,
  options: { exposeProvenance: boolean } = { exposeProvenance: false },
): Router {
  const router = Router();
  router.get("/references", (req, res) => {
    const set = current(state);
    if (fresh(req, res, referencesEtag(set))) return;
    res.json(describe(set, options.exposeProvenance));
  });
  router.get("/references/levels/:level/images/:file", (req, res) => {
    const set = current(state);
    const level = levelOf(set, req.params.level);
    const match = /^(\d{1,9})\.png$/.exec(req.params.file);
    const id = match ? Number(match[1]) : Number.NaN;
    if (!(id < level.count)) {
      throw notFound(
        `level ${level.level} has images 0.png to ${level.count - 1}.png; got ${req.params.file}`,
      );
    }
    if (fresh(req, res, `"ref-${set.references.version}-${level.level}-${id}"`)) return;
    res.type("png").send(referencePng(set.referenceImages, level, id));
  });
  router.get("/references/levels/:level/sheet.png", async (req, res) => {
    const set = current(state);
    const level = levelOf(set, req.params.level);
    const { perClass, scale } = parseQuery(req, sheetSchema);
    const etag = `"sheet-${set.references.version}-${level.level}-${perClass}-${scale}"`;
    if (fresh(req, res, etag)) return;
    res.type("png").send(await sheetPng(set, level, perClass, scale));
  });
  return router;
}
