// The distilled references of every level, embedded once and searchable by cosine similarity.
import { CosineIndex, type CosineIndexOptions } from "./cosine-index.js";

/** The parts of a ReferenceSet (src/references/reference-set.ts) this index needs. */
export interface ReferenceImages {
  version: string;
  classes: string[];
  height: number;
  width: number;
  channels: number;
  levels: { level: number; images: Float32Array; labels: Uint8Array; count: number }[];
}

/** Embeds `n` NHWC images into a row-major [n, dim] matrix. */
export type EmbedFn = (images: Float32Array, n: number) => Promise<Float32Array>;

export interface Neighbour {
  label: string;
  similarity: number;
  /** Row of the reference image within its level of the reference set. */
  referenceId: number;
  level: number;
}

interface Level {
  index: CosineIndex;
  labels: Uint8Array;
}

const EMBED_BATCH = 256;

export class ReferenceIndex {
  private constructor(
    readonly version: string,
    readonly classes: string[],
    readonly dim: number,
    private readonly levels: Map<number, Level>,
  ) {}

  /** Embeds every level's images in batches and builds one cosine index per level. */
  static async build(
    set: ReferenceImages,
    embed: EmbedFn,
    dim: number,
    options: CosineIndexOptions = {},
  ): Promise<ReferenceIndex> {
    const pixels = set.height * set.width * set.channels;
    const levels = new Map<number, Level>();
    for (const level of set.levels) {
      if (level.count <= 0)
        throw new Error(`references ${set.version}: level ${level.level} is empty`);
      const embeddings = new Float32Array(level.count * dim);
      for (let start = 0; start < level.count; start += EMBED_BATCH) {
        const n = Math.min(EMBED_BATCH, level.count - start);
        const batch = level.images.subarray(start * pixels, (start + n) * pixels);
        const out = await embed(batch, n);
        if (out.length !== n * dim) {
          throw new Error(
            `embedder returned ${out.length} values for ${n} images of dimension ${dim}`,
          );
        }
        embeddings.set(out, start * dim);
      }
      levels.set(level.level, {
        index: CosineIndex.build(embeddings, dim, options),
        labels: level.labels,
      });
    }
    return new ReferenceIndex(set.version, set.classes, dim, levels);
  }

  get levelNumbers(): number[] {
    return [...this.levels.keys()].sort((a, b) => a - b);
  }

  hasLevel(level: number): boolean {
    return this.levels.has(level);
  }

  /** The k references of `level` nearest to `query` by angle, most similar first. */
  search(level: number, query: ArrayLike<number>, k: number): Neighbour[] {
    const entry = this.levels.get(level);
    if (!entry) throw new RangeError(`references ${this.version} have no level ${level}`);
    return entry.index.search(query, k).map((hit) => ({
      label: this.classes[entry.labels[hit.id]] ?? String(entry.labels[hit.id]),
      similarity: hit.similarity,
      referenceId: hit.id,
      level,
    }));
  }
}
