// What each stage of scripts/pipeline.ts costs, in multiply-accumulates, from the work it does:
// the weights of the whole-run progress bar (the stages' shares of the run and of its ETA).
import { subsetsPerLevel } from "../distill/progress.js";
import { distillConvNetSpec } from "../nn/convnet.js";
import { forwardMacs } from "../nn/cost.js";
import { type ResnetDepth, resnetSpec } from "../nn/resnet.js";

export interface PipelineWorkInputs {
  /** [height, width, channels] of the images. */
  input: [number, number, number];
  classes: number;
  trainImages: number;
  testImages: number;
  depth: ResnetDepth;
  width: number;
  epochs: number;
  fanIns: number[];
  /** Distribution-matching iterations per subset and the ConvNet's width. */
  iterations: number;
  dmWidth: number;
  /** Embedding matching of these levels' references, if the pipeline matches (match-references.ts). */
  match?: { levels: number[]; steps: number };
}

export interface PipelineWork {
  train: number;
  distill: number;
  evaluate: number;
  /** Embedding the training images once, then every matched reference's steps; 0 without --match. */
  match: number;
  /** Writing the ONNX file and the manifest: no passes over images, so no share of the bar. */
  export: number;
}

/** A training step's forward and backward (activation and weight gradients) ≈ 3 forwards. */
const TRAIN_PASSES = 3;
/**
 * DM's synthetic images and matched references: forward and the gradient to the input only (the
 * network is fixed) ≈ 2.
 */
const SYNTHETIC_PASSES = 2;

/**
 * Training: every epoch trains on the training images and scores the test images. Distillation:
 * at every iteration of every subset, a fresh ConvNet embeds the subset's inputs (level 1: the
 * training images, each in one subset; level L: the level below's outputs) and the subset's
 * synthetic images (one per class) with their gradient. Evaluation: one embedding of the test
 * images, every reference level and the training images (the baselines). Matching: one embedding
 * of the training images (the targets), then every matched reference's steps.
 */
export function pipelineWork(w: PipelineWorkInputs): PipelineWork {
  const [, , channels] = w.input;
  const norm = { mean: new Array(channels).fill(0), std: new Array(channels).fill(1) };
  const embedder = forwardMacs(
    resnetSpec({ depth: w.depth, width: w.width, input: w.input, ...norm }),
  );
  const convnet = forwardMacs(distillConvNetSpec({ input: w.input, width: w.dmWidth, ...norm }));
  const subsets = subsetsPerLevel(w.fanIns);
  let distillImages = 0;
  subsets.forEach((s, i) => {
    const inputs = i === 0 ? w.trainImages : subsets[i - 1] * w.classes;
    distillImages += w.iterations * (inputs + SYNTHETIC_PASSES * s * w.classes);
  });
  const references = subsets.reduce((n, s) => n + s * w.classes, 0);
  const matched = (w.match?.levels ?? []).reduce(
    (n, l) => n + (subsets[l - 1] ?? 0) * w.classes,
    0,
  );
  return {
    train: w.epochs * (TRAIN_PASSES * w.trainImages + w.testImages) * embedder,
    distill: distillImages * convnet,
    evaluate: (w.testImages + references + w.trainImages) * embedder,
    match: w.match ? (w.trainImages + SYNTHETIC_PASSES * w.match.steps * matched) * embedder : 0,
    export: 0,
  };
}
