// Open-set classification ("none of these"): the similarity threshold below which the nearest
// reference is not trusted, calibrated on held-back in-distribution images, and its rates.

/** The share of held-back in-distribution images a calibrated threshold keeps. */
export const DEFAULT_ACCEPT_RATE = 0.95;

/**
 * The largest threshold that still accepts `acceptRate` of these best-match similarities of
 * in-distribution images (a lower quantile of them).
 */
export function calibrateMinSimilarity(
  similarities: ArrayLike<number>,
  acceptRate = DEFAULT_ACCEPT_RATE,
): number {
  if (similarities.length === 0) throw new RangeError("calibration needs at least one similarity");
  if (!(acceptRate > 0 && acceptRate <= 1)) {
    throw new RangeError(`accept rate ${acceptRate} must be in (0, 1]`);
  }
  const sorted = Float64Array.from(similarities).sort();
  const rejected = Math.floor((1 - acceptRate) * sorted.length + 1e-9);
  return sorted[Math.min(rejected, sorted.length - 1)];
}

/** Share of the similarities at or above the threshold. */
export function acceptedShare(similarities: ArrayLike<number>, minSimilarity: number): number {
  let kept = 0;
  for (let i = 0; i < similarities.length; i++) if (similarities[i] >= minSimilarity) kept++;
  return similarities.length ? kept / similarities.length : 0;
}

/** Whether a best match of `similarity` is "unknown" under `minSimilarity` (none: never). */
export function isUnknown(similarity: number, minSimilarity: number | undefined): boolean {
  return minSimilarity !== undefined && similarity < minSimilarity;
}
