// The protocol's classification extension: an output asked for with {"classification": N} answers, per batch row,
// the top N classes as "score:index:label" (TaylorNet: its outputs; the embedder: nearest references by angle).
import type { Config } from "../../config.js";
import { badRequest } from "../errors.js";
import type { LoadedModel, ServingSet } from "../serving-set.js";

/** The N asked for, or undefined when the output is not a classification request. */
export function classificationCount(
  parameters: Record<string, unknown> | undefined,
  output: string,
) {
  const value = parameters?.classification;
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw badRequest(
      "bad_parameter",
      `output ${output}: parameters.classification must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const entry = (score: number, index: number, label: string) =>
  `${score.toFixed(6)}:${index}:${label}`;

/** Top-N "score:index:label" strings for each of the n rows of `values` (row-major [n, dim]). */
export function classify(
  m: LoadedModel,
  set: ServingSet,
  config: Config,
  values: Float32Array,
  n: number,
  count: number,
): string[] {
  const dim = values.length / n;
  if (m.entry.role === "classifier") {
    const labels = m.entry.labels;
    if (count > dim) {
      throw badRequest(
        "bad_parameter",
        `classification ${count}: model ${m.name} has ${dim} classes`,
      );
    }
    const out: string[] = [];
    for (let row = 0; row < n; row++) {
      const scores = values.subarray(row * dim, (row + 1) * dim);
      const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);
      for (const i of order.slice(0, count)) out.push(entry(scores[i], i, labels[i] ?? String(i)));
    }
    return out;
  }
  if (set.references.dim !== dim || set.referencesEntry.embedder !== m.name) {
    throw badRequest("bad_parameter", `model ${m.name} has no labels: it embeds no reference set`);
  }
  const classes = set.references.classes;
  if (count > classes.length) {
    throw badRequest(
      "bad_parameter",
      `classification ${count}: references ${set.references.version} have ${classes.length} classes`,
    );
  }
  const level = config.defaultLevel ?? set.referencesEntry.defaultLevel ?? 5;
  const out: string[] = [];
  for (let row = 0; row < n; row++) {
    const embedding = values.subarray(row * dim, (row + 1) * dim);
    const best = new Map<string, number>();
    for (let k = count * 8; best.size < count; k *= 4) {
      const hits = set.references.search(level, embedding, k);
      for (const hit of hits) if (!best.has(hit.label)) best.set(hit.label, hit.similarity);
      if (hits.length < k) break;
    }
    if (best.size < count) {
      throw badRequest(
        "bad_parameter",
        `classification ${count}: reference level ${level} holds ${best.size} classes`,
      );
    }
    for (const [label, similarity] of [...best].slice(0, count)) {
      out.push(entry(similarity, classes.indexOf(label), label));
    }
  }
  return out;
}
