// Classification by angle: each test embedding takes the class of the most similar reference
// (distilled images of a level, class means, or every training image for the 1-NN baseline).

import { calibrateMinSimilarity } from "../index/open-set.js";
import { accuracy, classMeans } from "./cosine.js";
import { nearestByCosine } from "./nearest.js";

export interface LabelledEmbeddings {
  embeddings: Float32Array;
  labels: ArrayLike<number>;
}

/** Predicted class of every query: the label of its nearest reference by cosine. */
export function classifyByReferences(
  queries: Float32Array,
  references: LabelledEmbeddings,
  dim: number,
): Uint8Array {
  const { index } = nearestByCosine(queries, references.embeddings, dim);
  return Uint8Array.from(index, (i) => references.labels[i]);
}

export interface AngleReport {
  testImages: number;
  levels: { level: number; references: number; accuracy: number }[];
  classMean?: { trainingImages: number; accuracy: number };
  nearestNeighbour?: { trainingImages: number; accuracy: number };
  /** Per level ("1".."5"): the open-set threshold that keeps 95% of the test images (open-set.ts). */
  minSimilarity?: Record<string, number>;
}

export interface AngleInputs {
  dim: number;
  classes: number;
  test: LabelledEmbeddings;
  levels: (LabelledEmbeddings & { level: number })[];
  /** Training embeddings for the class-mean and 1-NN baselines. */
  train?: LabelledEmbeddings;
}

export function angleReport(inputs: AngleInputs): AngleReport {
  const { dim, classes, test, levels, train } = inputs;
  const score = (refs: LabelledEmbeddings) =>
    accuracy(classifyByReferences(test.embeddings, refs, dim), test.labels);
  const report: AngleReport = {
    testImages: test.labels.length,
    levels: levels.map((l) => ({
      level: l.level,
      references: l.labels.length,
      accuracy: score(l),
    })),
  };
  if (levels.length) report.minSimilarity = openSetThresholds(inputs);
  if (train) {
    const means = classMeans(train.embeddings, train.labels, classes, dim);
    const meanLabels = Uint8Array.from({ length: classes }, (_, c) => c);
    report.classMean = {
      trainingImages: train.labels.length,
      accuracy: score({ embeddings: means, labels: meanLabels }),
    };
    report.nearestNeighbour = { trainingImages: train.labels.length, accuracy: score(train) };
  }
  return report;
}

/** Per level, the best-match similarity below which only 5% of the held-back images fall. */
function openSetThresholds({ dim, test, levels }: AngleInputs): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of levels) {
    const { similarity } = nearestByCosine(test.embeddings, l.embeddings, dim);
    out[String(l.level)] = calibrateMinSimilarity(similarity);
  }
  return out;
}
