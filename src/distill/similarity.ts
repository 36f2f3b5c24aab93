// Intra-class similarity per distillation level (the paper's Figs. S5/S6): mean pairwise cosine
// between images of the same class, next to the mean between classes, as JSON and Markdown.

export interface LevelImages {
  level: number;
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

export interface SimilarityRow {
  level: number;
  perClass: number;
  /** Mean over classes of the mean pairwise cosine within the class; null with one image per class. */
  intraClass: number | null;
  /** Mean cosine between images of different classes. */
  interClass: number | null;
}

function normalise(row: Float32Array): Float32Array {
  let norm = 0;
  for (const v of row) norm += v * v;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return row.map((v) => v * inv);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}

/**
 * Cosines of raw pixels, or of `embed(images, count)` (count rows) when given. Only the first
 * `maxPerClass` images of each class are compared (and embedded), to bound the cost.
 */
export function levelSimilarity(
  level: LevelImages,
  classes: number,
  maxPerClass = 200,
  embed?: (images: Float32Array, count: number) => Float32Array,
): SimilarityRow {
  const chosen: number[][] = Array.from({ length: classes }, () => []);
  level.labels.forEach((label, i) => {
    if (chosen[label].length < maxPerClass) chosen[label].push(i);
  });
  const indices = chosen.flat();
  const size = level.images.length / level.count;
  const picked = new Float32Array(indices.length * size);
  indices.forEach((i, k) => {
    picked.set(level.images.subarray(i * size, (i + 1) * size), k * size);
  });
  const features = embed ? embed(picked, indices.length) : picked;
  const dim = features.length / indices.length;
  const rows = indices.map((_, k) => normalise(features.slice(k * dim, (k + 1) * dim)));
  const byClass: Float32Array[][] = [];
  let at = 0;
  for (const members of chosen) {
    byClass.push(rows.slice(at, at + members.length));
    at += members.length;
  }
  let intraSum = 0;
  let intraClasses = 0;
  for (const members of byClass) {
    if (members.length < 2) continue;
    let s = 0;
    let pairs = 0;
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        s += dot(members[i], members[j]);
        pairs++;
      }
    }
    intraSum += s / pairs;
    intraClasses++;
  }
  let interSum = 0;
  let interPairs = 0;
  const sample = byClass.map((m) => m.slice(0, 50));
  for (let a = 0; a < classes; a++) {
    for (let b = a + 1; b < classes; b++) {
      for (const x of sample[a]) {
        for (const y of sample[b]) {
          interSum += dot(x, y);
          interPairs++;
        }
      }
    }
  }
  return {
    level: level.level,
    perClass: Math.round(level.count / classes),
    intraClass: intraClasses ? intraSum / intraClasses : null,
    interClass: interPairs ? interSum / interPairs : null,
  };
}

export function similarityMarkdown(rows: SimilarityRow[], what = "raw pixels"): string {
  const f = (v: number | null) => (v === null ? "—" : v.toFixed(4));
  return [
    `| level | images per class | intra-class cosine (${what}) | inter-class cosine |`,
    "|---|---|---|---|",
    ...rows.map((r) => `| L${r.level} | ${r.perClass} | ${f(r.intraClass)} | ${f(r.interClass)} |`),
  ].join("\n");
}
