// Magnitude pruning of a weight array: keep the largest fraction by |w|, zero the rest (the
// paper's 50% / 30% / 10% experiment on the direct Taylor expansion).

/** A copy of `w` with all but the ⌈keep·n⌉ largest-magnitude entries set to zero. */
export function pruneByMagnitude(w: Float32Array, keep: number): Float32Array {
  if (!(keep > 0 && keep <= 1)) throw new Error(`keep must be in (0, 1], got ${keep}`);
  const kept = Math.ceil(keep * w.length);
  const out = Float32Array.from(w);
  if (kept >= w.length) return out;
  const magnitudes = Float32Array.from(w, Math.abs).sort();
  const threshold = magnitudes[w.length - kept];
  let budget = kept;
  // Strictly larger first, then ties at the threshold until the budget is used.
  for (let i = 0; i < w.length; i++) if (Math.abs(w[i]) > threshold) budget--;
  for (let i = 0; i < w.length; i++) {
    const m = Math.abs(w[i]);
    if (m > threshold) continue;
    if (m === threshold && budget > 0) budget--;
    else out[i] = 0;
  }
  return out;
}
