// Points a models directory's manifest at a reference set file inside it, so a running service
// picks the new set up (shared by scripts/distill.ts and scripts/publish-references.ts).
import { join, relative } from "node:path";
import { MANIFEST_FILE, readManifest, sha256File, updateManifest } from "../models/manifest.js";
import { type ReferenceSet, ReferenceSetError } from "./reference-set.js";

export interface RegisterOptions {
  /** The embedder model the references are meant for; default: the manifest's current one. */
  embedder?: string;
  /** The level /classify uses by default; default: keep the manifest's current choice. */
  defaultLevel?: number;
  metrics?: Record<string, unknown>;
  /** Per level ("1".."5"), the open-set threshold calibrated by scripts/evaluate.ts. */
  minSimilarity?: Record<string, number>;
  command: string;
}

export async function registerReferences(
  dir: string,
  file: string,
  set: ReferenceSet,
  options: RegisterOptions,
): Promise<void> {
  const inside = relative(dir, file);
  if (inside.startsWith("..")) throw new ReferenceSetError(`${file} must lie inside ${dir}`);
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
  const levels = set.levels.map((l) => l.level);
  const defaultLevel = options.defaultLevel ?? current.references?.defaultLevel;
  if (defaultLevel !== undefined && !levels.includes(defaultLevel)) {
    throw new ReferenceSetError(
      `default level ${defaultLevel} is not among the set's levels ${levels}`,
    );
  }
  const sha256 = await sha256File(file);
  await updateManifest(dir, (manifest) => {
    manifest.references = {
      file: inside,
      sha256,
      version: set.version,
      embedder: name,
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
