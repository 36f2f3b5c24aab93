// models/manifest.json: the one description of every shipped model and reference set (schema, read, atomic update, sha256 checks).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, realpath, rm, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { z } from "zod";
import { writeJsonAtomic } from "../util/atomic-write.js";

export const MANIFEST_FILE = "manifest.json";

/** Whether a relative path leaves its base: `..` or `../x`, not a name that merely starts with dots (`..data/x`). */
const leavesBase = (rel: string) => rel === ".." || rel.startsWith(`..${sep}`);

/** A file path relative to the models directory; never absolute, never escaping it. */
const RelativeFile = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !leavesBase(normalize(p)), {
    message: "must be a path relative to the models directory, inside it",
  });

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");

/** A dimension: a size, or null / a name (e.g. "batch") for a dynamic one. */
const Dim = z.union([z.number().int().nonnegative(), z.string(), z.null()]);

export const ModelEntrySchema = z.looseObject({
  file: RelativeFile,
  sha256: Sha256,
  role: z.enum(["embedder", "classifier"]),
  format: z.literal("onnx"),
  version: z.string().min(1),
  input: z.looseObject({
    /** [H, W, C] of one image, without the batch dimension. */
    shape: z.tuple([
      z.number().int().positive(),
      z.number().int().positive(),
      z.number().int().positive(),
    ]),
    layout: z.literal("NHWC"),
    range: z.tuple([z.number(), z.number()]),
    preprocessing: z.record(z.string(), z.unknown()).default({}),
  }),
  output: z.looseObject({
    name: z.string().min(1),
    /** Output shape without the batch dimension, e.g. [10] or [128]. */
    shape: z.array(Dim),
  }),
  labels: z.array(z.string()),
  metrics: z.record(z.string(), z.unknown()).default({}),
  data: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  command: z.string().optional(),
  createdAt: z.string().optional(),
});

export const ReferencesEntrySchema = z.looseObject({
  file: RelativeFile,
  sha256: Sha256,
  version: z.string().min(1),
  /** Name of the embedder model (a key of `models`) these references are meant for. */
  embedder: z.string().min(1),
  /** The levels present in the file, e.g. [1, 2, 3, 4, 5]. */
  levels: z.array(z.number().int().positive()).min(1),
  /** The level /classify uses when a request names none (measured best, say); else 5. */
  defaultLevel: z.number().int().positive().optional(),
  /** Per level ("1".."5"): below this best-match similarity /classify answers "unknown". */
  minSimilarity: z.record(z.string().regex(/^\d+$/), z.number().min(-1).max(1)).optional(),
  /** Measured quality, e.g. accuracy by angle per level (scripts/evaluate.ts output). */
  metrics: z.record(z.string(), z.unknown()).optional(),
  command: z.string().optional(),
  createdAt: z.string().optional(),
});

export const ManifestSchema = z
  .looseObject({
    models: z.record(z.string().min(1), ModelEntrySchema).default({}),
    references: ReferencesEntrySchema.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.references && !(m.references.embedder in m.models)) {
      ctx.addIssue({
        code: "custom",
        path: ["references", "embedder"],
        message: `names model "${m.references.embedder}", which is not in models`,
      });
    }
  });

export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type ReferencesEntry = z.infer<typeof ReferencesEntrySchema>;
export type Manifest = z.infer<typeof ManifestSchema>;

export class ManifestError extends Error {
  override name = "ManifestError";
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}

/** Validates a parsed manifest value; `source` names it in the error. */
export function parseManifest(value: unknown, source = MANIFEST_FILE): Manifest {
  const result = ManifestSchema.safeParse(value);
  if (!result.success) {
    throw new ManifestError(`${source}: invalid manifest: ${describeIssues(result.error)}`);
  }
  return result.data;
}

/** Reads and validates `dir/manifest.json`, with errors that name the file and the bad field. */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ManifestError(
      code === "ENOENT"
        ? `${path}: no manifest (file not found)`
        : `${path}: cannot read (${code})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseManifest(value, path);
}

const LOCK_STALE_MS = 30_000;

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, `.${MANIFEST_FILE}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, "wx");
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) await rm(lock, { force: true });
      else if (attempt > 600)
        throw new ManifestError(`${lock}: manifest is locked by another writer`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Read-modify-write of `dir/manifest.json` under a lock file, written atomically.
 * A missing manifest starts as `{models: {}}`. `mutate` may edit in place or return a new value;
 * the result is validated before it is written.
 */
export async function updateManifest(
  dir: string,
  mutate: (manifest: Manifest) => Manifest | undefined | Promise<Manifest | undefined>,
): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  return withLock(dir, async () => {
    let current: Manifest;
    try {
      current = await readManifest(dir);
    } catch (error) {
      const missing = (error as Error).message.endsWith("no manifest (file not found)");
      if (!missing) throw error;
      current = parseManifest({ models: {} });
    }
    const next = parseManifest((await mutate(current)) ?? current, join(dir, MANIFEST_FILE));
    await writeJsonAtomic(join(dir, MANIFEST_FILE), next);
    return next;
  });
}

/** Hex sha256 of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", fail)
      .on("end", () => ok(hash.digest("hex")));
  });
}

/** Absolute path of a manifest entry's file, refusing paths that leave `dir`. */
export function entryPath(dir: string, entry: { file: string }): string {
  const path = resolve(dir, entry.file);
  const rel = relative(resolve(dir), path);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new ManifestError(`${entry.file}: path leaves the models directory ${dir}`);
  }
  return path;
}

/**
 * The real path (symlinks resolved) of an entry's file, refusing one that resolves outside the
 * models directory's own real path: a link inside the folder must not reach the rest of the disk.
 */
export async function realEntryPath(dir: string, entry: { file: string }): Promise<string> {
  const path = entryPath(dir, entry);
  const [realDir, real] = await Promise.all([realpath(dir), realpath(path)]);
  const rel = relative(realDir, real);
  if (rel === "" || leavesBase(rel) || isAbsolute(rel)) {
    throw new ManifestError(
      `${entry.file}: resolves to ${real}, outside the models directory ${realDir}`,
    );
  }
  return real;
}

/** Checks that an entry's file exists inside `dir` and matches its sha256; returns its real path. */
export async function verifyFile(
  dir: string,
  entry: { file: string; sha256: string },
): Promise<string> {
  let path = entryPath(dir, entry);
  let actual: string;
  try {
    path = await realEntryPath(dir, entry);
    actual = await sha256File(path);
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    throw new ManifestError(
      `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  if (actual !== entry.sha256) {
    throw new ManifestError(`${path}: sha256 mismatch (manifest ${entry.sha256}, file ${actual})`);
  }
  return path;
}
