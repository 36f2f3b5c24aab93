// The whole classification-by-angle evaluation: embed the test set, each reference level and
// (for the baselines) the training set with one embedder, then score them as one JSON report.
import type { Dataset } from "../data/dataset.js";
import type { ReferenceSet } from "../references/reference-set.js";
import { embed as embedWith } from "../train/evaluate.js";
import { type AngleReport, angleReport, type LabelledEmbeddings } from "./angle.js";
import type { Embedder } from "./embedder.js";

export interface EvaluationInputs {
  embedder: Embedder;
  test: Dataset;
  references?: ReferenceSet;
  /** Training set for the class-mean and 1-NN baselines (already limited). */
  train?: Dataset;
  batch?: number;
  /** Images embedded so far of all there are to embed (test, references, training set). */
  onProgress?: (done: number, total: number) => void;
}

/** Images per embed call when progress is reported (the results do not depend on it). */
const PROGRESS_CHUNK = 512;

export interface EvaluationResult extends AngleReport {
  /** Accuracy by level name ("L1".."L5"), for quick reading. */
  accuracy: Record<string, number>;
  dim: number;
  embedSeconds: number;
}

function checkCompatible(
  embedder: Pick<Embedder, "spec">,
  what: string,
  d: { height: number; width: number; channels: number },
) {
  const [h, w, c] = embedder.spec.input;
  if (d.height !== h || d.width !== w || d.channels !== c) {
    throw new Error(
      `${what} is ${d.height}×${d.width}×${d.channels}, but the embedder ${embedder.spec.name} takes ${h}×${w}×${c}`,
    );
  }
}

/** An embedder behind an asynchronous function, such as an exported ONNX model on onnxruntime. */
export interface EmbedSource {
  name: string;
  input: [number, number, number];
  dim: number;
  embed(images: Float32Array, count: number): Promise<Float32Array>;
}

/** evaluateByAngle for an EmbedSource: the same checks, the same report. */
export async function evaluateSourceByAngle(
  source: EmbedSource,
  inputs: Omit<EvaluationInputs, "embedder" | "batch">,
): Promise<EvaluationResult> {
  const { test, references, train, onProgress } = inputs;
  const shaped = { spec: { name: source.name, input: source.input } } as Pick<Embedder, "spec">;
  checkCompatible(shaped, `test set ${test.name}`, test);
  if (references) {
    checkCompatible(shaped, `reference set ${references.version}`, references);
    if (references.classes.length !== test.classes.length) {
      throw new Error(
        `reference set has ${references.classes.length} classes, test set ${test.classes.length}`,
      );
    }
  }
  if (train) checkCompatible(shaped, `training set ${train.name}`, train);
  const started = performance.now();
  const sorted = [...(references?.levels ?? [])].sort((a, b) => a.level - b.level);
  const total = [test, ...sorted, ...(train ? [train] : [])].reduce((n, d) => n + d.count, 0);
  let done = 0;
  const embed = async (images: Float32Array, count: number) => {
    if (!onProgress) return source.embed(images, count);
    const size = images.length / Math.max(count, 1);
    const out: Float32Array[] = [];
    for (let i = 0; i < count; i += PROGRESS_CHUNK) {
      const n = Math.min(PROGRESS_CHUNK, count - i);
      out.push(await source.embed(images.subarray(i * size, (i + n) * size), n));
      done += n;
      onProgress(done, total);
    }
    return concat(out);
  };
  const testEmb = { embeddings: await embed(test.images, test.count), labels: test.labels };
  const levels: (LabelledEmbeddings & { level: number })[] = [];
  for (const l of sorted) {
    levels.push({ level: l.level, embeddings: await embed(l.images, l.count), labels: l.labels });
  }
  const trainEmb = train
    ? { embeddings: await embed(train.images, train.count), labels: train.labels }
    : undefined;
  const embedSeconds = (performance.now() - started) / 1000;
  const report = angleReport({
    dim: source.dim,
    classes: test.classes.length,
    test: testEmb,
    levels,
    train: trainEmb,
  });
  const accuracy = Object.fromEntries(report.levels.map((l) => [`L${l.level}`, l.accuracy]));
  return { ...report, accuracy, dim: source.dim, embedSeconds };
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The evaluation with a trained embedder checkpoint on tfjs (an EmbedSource over it). */
export function evaluateByAngle(inputs: EvaluationInputs): Promise<EvaluationResult> {
  const { embedder, batch, ...data } = inputs;
  const source: EmbedSource = {
    name: embedder.spec.name,
    input: embedder.spec.input as [number, number, number],
    dim: embedder.dim,
    embed: async (images, count) =>
      embedWith(embedder.spec, embedder.weights, images, count, { batchSize: batch }),
  };
  return evaluateSourceByAngle(source, data);
}
