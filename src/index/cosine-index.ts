// Cosine nearest-neighbour search over embeddings: hnswlib-node (lint lets no other module import it) plus an exact check.
import hnswlib from "hnswlib-node";

export interface SearchHit {
  /** Row of the embedding in the matrix the index was built from. */
  id: number;
  /** Cosine similarity in [-1, 1]. */
  similarity: number;
}

export interface CosineIndexOptions {
  m?: number;
  efConstruction?: number;
  efSearch?: number;
  seed?: number;
}

/** An approximate (HNSW) cosine index over the rows of a row-major [count, dim] matrix. */
export class CosineIndex {
  private constructor(
    private readonly hnsw: hnswlib.HierarchicalNSW,
    readonly dim: number,
    readonly size: number,
  ) {}

  static build(
    embeddings: Float32Array,
    dim: number,
    options: CosineIndexOptions = {},
  ): CosineIndex {
    const size = checkMatrix(embeddings, dim);
    const hnsw = new hnswlib.HierarchicalNSW("cosine", dim);
    hnsw.initIndex(
      Math.max(size, 1),
      options.m ?? 16,
      options.efConstruction ?? 200,
      options.seed ?? 100,
    );
    for (let row = 0; row < size; row++) {
      hnsw.addPoint(Array.from(embeddings.subarray(row * dim, (row + 1) * dim)), row);
    }
    hnsw.setEf(Math.max(options.efSearch ?? 64, 1));
    return new CosineIndex(hnsw, dim, size);
  }

  /** The k most similar rows, most similar first (k is clamped to the index size). */
  search(query: ArrayLike<number>, k: number): SearchHit[] {
    checkQuery(query, this.dim);
    const n = Math.min(k, this.size);
    if (n <= 0) return [];
    if (isZero(query)) return zeroHits(n);
    const { distances, neighbors } = this.hnsw.searchKnn(Array.from(query), n);
    return neighbors
      .map((id, i) => ({ id, similarity: 1 - distances[i] }))
      .sort((a, b) => b.similarity - a.similarity || a.id - b.id);
  }
}

/** Exact cosine top-k by scanning every row: the ground truth for CosineIndex. */
export function bruteForceSearch(
  embeddings: Float32Array,
  dim: number,
  query: ArrayLike<number>,
  k: number,
): SearchHit[] {
  const size = checkMatrix(embeddings, dim);
  checkQuery(query, dim);
  const qNorm = Math.sqrt(dot(query, 0, query, 0, dim));
  const hits: SearchHit[] = [];
  for (let row = 0; row < size; row++) {
    const off = row * dim;
    const norm = Math.sqrt(dot(embeddings, off, embeddings, off, dim));
    const denom = norm * qNorm;
    hits.push({ id: row, similarity: denom > 0 ? dot(embeddings, off, query, 0, dim) / denom : 0 });
  }
  return hits.sort((a, b) => b.similarity - a.similarity || a.id - b.id).slice(0, Math.max(k, 0));
}

function dot(
  a: ArrayLike<number>,
  ao: number,
  b: ArrayLike<number>,
  bo: number,
  n: number,
): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

function checkMatrix(embeddings: Float32Array, dim: number): number {
  if (!Number.isInteger(dim) || dim <= 0)
    throw new RangeError(`index dimension must be > 0, got ${dim}`);
  if (embeddings.length % dim !== 0) {
    throw new RangeError(
      `embeddings length ${embeddings.length} is not a multiple of dimension ${dim}`,
    );
  }
  return embeddings.length / dim;
}

function checkQuery(query: ArrayLike<number>, dim: number): void {
  if (query.length !== dim)
    throw new RangeError(`query has ${query.length} values, index has ${dim}`);
}

function isZero(query: ArrayLike<number>): boolean {
  for (let i = 0; i < query.length; i++) if (query[i] !== 0) return false;
  return true;
}

/** A zero vector has no direction: every reference is equally (un)similar. */
function zeroHits(n: number): SearchHit[] {
  return Array.from({ length: n }, (_, id) => ({ id, similarity: 0 }));
}
