// Points a models directory's manifest at a reference set file inside it, so a running service
// picks the new set up (shared by scripts/distill.ts and scripts/publish-references.ts).
import { isAbsolute, join, relative } from "node:path";
import { MANIFEST_FILE, readManifest, sha256File, updateManifest } from "../models/manifest.js";
import { type ReferenceSet, ReferenceSetError } from "./reference-set.js";

export interface RegisterOptions {
  /** The embedder model the references are meant for; default: the manifest's current one. */
  embedder?: string;
  /**
   * The level /classify uses by default; default: keep the manifest's current choice, or the
   * set's top level when the set lacks it.
   */
  defaultLevel?: number;
  metrics?: Record<string, unknown>;
  /** Per level ("1".."5"), the open-set threshold calibrated by scripts/evaluate.ts. */
  minSimilarity?: Record<string, number>;
  command: string;
}

/** Where the set will be registered; throws ReferenceSetError when it cannot be. */
export interface Registration {
  /** The file's path relative to the models directory. */
  inside: string;
  embedder: string;
  defaultLevel?: number;
}

/**
 * Checks, before any work, that a set with these levels written to `file` can be registered in
 * `dir`: the file lies inside it, the manifest names the embedder, an explicit default level is
 * present (without one, the manifest's default is kept, or the set's top level when it lacks it).
 */
export async function checkRegistration(
  dir: string,
  file: string,
  levels: number[],
  options: Pick<RegisterOptions, "embedder" | "defaultLevel">,
): Promise<Registration> {
  const inside = relative(dir, file);
  if (inside.startsWith("..") || isAbsolute(inside)) {
    throw new ReferenceSetError(`${file} must lie inside ${dir}`);
  }
  const manifestPath = join(dir, MANIFEST_FILE);
  const current = await readManifest(dir).catch(() => undefined);
  const name =
    options.embedder ??
    current?.references?.embedder ??
    Object.entries(current?.models ?? {}).find(([, m]) => m.role === "embedder")?.[0];
  if (!name)
    throw new ReferenceSetError(`${manifestPath} names no embedder model: pass --embedder`);
  if (!current?.models[name]) {
    throw new ReferenceSetError(
      `${manifestPath} has no model "${name}" to pair the references with`,
    );
  }
  if (options.defaultLevel !== undefined && !levels.includes(options.defaultLevel)) {
    throw new ReferenceSetError(
      `default level ${options.defaultLevel} is not among the set's levels ${levels}`,
    );
  }
  // The manifest's current default is kept while the new set has it; a set with fewer levels
  // (a quick refresh) gets its top level instead of a refusal.
  const kept = current.references?.defaultLevel;
  const defaultLevel =
    options.defaultLevel ??
    (kept === undefined || levels.includes(kept) ? kept : Math.max(...levels));
  return { inside, embedder: name, ...(defaultLevel === undefined ? {} : { defaultLevel }) };
}

export async function registerReferences(
  dir: string,
  file: string,
  set: ReferenceSet,
  options: RegisterOptions,
): Promise<void> {
  const levels = set.levels.map((l) => l.level);
  const { inside, embedder, defaultLevel } = await checkRegistration(dir, file, levels, options);
  const sha256 = await sha256File(file);
  await updateManifest(dir, (manifest) => {
    manifest.references = {
      file: inside,
      sha256,
      version: set.version,
      embedder,
      levels,
      ...(defaultLevel === undefined ? {} : { defaultLevel }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...(options.minSimilarity === undefined ? {} : { minSimilarity: options.minSimilarity }),
      command: options.command,
      createdAt: new Date().toISOString(),
    };
    return manifest;
  });
}
