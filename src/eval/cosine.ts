// Cosine-similarity primitives on flat row-major Float32Arrays: the exact reference that the
// blocked tfjs search and the service's index are checked against.

/** Rows of `data` ([rows, dim]) scaled to unit length; zero rows stay zero. */
export function normalizeRows(data: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < data.length / dim; r++) {
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += data[r * dim + j] ** 2;
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < dim; j++) out[r * dim + j] = data[r * dim + j] * inv;
  }
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine: lengths ${a.length} and ${b.length} differ`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

export interface Ranked {
  index: number;
  score: number;
}

/** The k largest scores, best first; ties keep the lower index first. */
export function topK(scores: ArrayLike<number>, k: number): Ranked[] {
  const best: Ranked[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i];
    if (best.length === k && score <= best[k - 1].score) continue;
    let at = best.length;
    while (at > 0 && best[at - 1].score < score) at--;
    best.splice(at, 0, { index: i, score });
    if (best.length > k) best.pop();
  }
  return best;
}

/** For each query row, the reference row with the largest cosine (exact, O(q·r·dim)). */
export function nearestByCosineExact(
  queries: Float32Array,
  references: Float32Array,
  dim: number,
): { index: Int32Array; similarity: Float32Array } {
  const q = normalizeRows(queries, dim);
  const r = normalizeRows(references, dim);
  const nq = q.length / dim;
  const nr = r.length / dim;
  const index = new Int32Array(nq);
  const similarity = new Float32Array(nq);
  for (let i = 0; i < nq; i++) {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < nr; j++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += q[i * dim + d] * r[j * dim + d];
      if (dot > bestScore) {
        bestScore = dot;
        best = j;
      }
    }
    index[i] = best;
    similarity[i] = bestScore;
  }
  return { index, similarity };
}

/** The mean of the unit-length embeddings of each class: rows [classes, dim]. */
export function classMeans(
  embeddings: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  dim: number,
): Float32Array {
  const unit = normalizeRows(embeddings, dim);
  const sums = new Float32Array(classes * dim);
  const counts = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    counts[c]++;
    for (let d = 0; d < dim; d++) sums[c * dim + d] += unit[i * dim + d];
  }
  for (let c = 0; c < classes; c++) {
    if (counts[c] === 0) throw new Error(`classMeans: class ${c} has no examples`);
    for (let d = 0; d < dim; d++) sums[c * dim + d] /= counts[c];
  }
  return sums;
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length || labels.length === 0) {
    throw new Error(`accuracy: ${predicted.length} predictions for ${labels.length} labels`);
  }
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}
