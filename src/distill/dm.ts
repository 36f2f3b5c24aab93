// Distribution matching on one subset: n synthetic images (one per class) optimised by SGD on
// Eq. 5 under a ConvNet embedding that is freshly random at every iteration.

import { distillConvNetSpec } from "../nn/convnet.js";
import { forward, type ParamTensors } from "../nn/forward.js";
import * as tf from "../nn/tf.js";
import { initWeights } from "../nn/weights.js";
import { rng } from "../util/random.js";
import { classStats, disposeStats, eq5Loss, type Repulsion } from "./loss.js";
import { subsetSeed } from "./plan.js";

export interface DmConfig {
  iterations: number;
  /** ConvNet channels (paper 128). */
  width: number;
  lr: number;
  momentum: number;
  lambda: number;
  /** How Eq. 5's repulsion is bounded (loss.ts); default "eq5" as the paper writes it. */
  repulsion?: Repulsion;
  /** Per-channel normalisation inside the ConvNet. */
  mean: number[];
  std: number[];
  /** Start from one seeded real image per class (DM's default) or the class's pixel mean. */
  init?: "real" | "mean";
}

export interface SubsetProblem {
  /** Real images, NHWC [N, H, W, C] in [0, 1]. */
  images: Float32Array;
  /** Class of each real image, 0..classes−1; every class must occur. */
  labels: number[];
  classes: number;
  shape: [number, number, number];
  seed: number;
  /** Starting images [classes, H, W, C]; default initialImages(problem). */
  init?: Float32Array;
  /** This subset's λ and lr when they differ from the config's (per-level λ: level-lambda.ts). */
  lambda?: number;
  lr?: number;
}

export interface SubsetResult {
  /** [classes, H, W, C]: the distilled image of class c at c. */
  images: Float32Array;
  /** Eq. 5 (divided by N) at the first and the last iteration. */
  firstLoss: number;
  lastLoss: number;
}

/** One real image per class chosen from the problem's seed, or ("mean") each class's mean image. */
export function initialImages(
  problem: SubsetProblem,
  init: "real" | "mean" = "real",
): Float32Array {
  const size = problem.shape[0] * problem.shape[1] * problem.shape[2];
  const random = rng(subsetSeed(problem.seed, 0, 0));
  const out = new Float32Array(problem.classes * size);
  for (let c = 0; c < problem.classes; c++) {
    const members = problem.labels.flatMap((label, i) => (label === c ? [i] : []));
    if (members.length === 0) throw new Error(`subset has no real image of class ${c}`);
    if (init === "mean") {
      const target = out.subarray(c * size, (c + 1) * size);
      for (const m of members) {
        const image = problem.images.subarray(m * size, (m + 1) * size);
        for (let k = 0; k < size; k++) target[k] += image[k] / members.length;
      }
      continue;
    }
    const pick = members[Math.floor(random() * members.length)];
    out.set(problem.images.subarray(pick * size, (pick + 1) * size), c * size);
  }
  return out;
}

function paramTensors(weights: ReturnType<typeof initWeights>): ParamTensors {
  const params: ParamTensors = {};
  for (const [name, w] of Object.entries(weights)) params[name] = tf.tensor(w.data, w.shape);
  return params;
}

/**
 * Runs `config.iterations` steps of SGD with momentum (PyTorch's form: v ← μv + g, y ← y − lr·v)
 * in normalised pixel space, clamping the raw pixels to [0, 1] after each step (projected SGD,
 * the well-posedness choice explained in loss.ts). Iteration t embeds with a fresh ConvNet
 * seeded by (subset seed, t). Leaves no tensors behind.
 */
export function distillSubset(problem: SubsetProblem, config: DmConfig): SubsetResult {
  const [h, w, c] = problem.shape;
  const spec = distillConvNetSpec({
    input: problem.shape,
    width: config.width,
    mean: config.mean,
    std: config.std,
  });
  const real = tf.tensor4d(problem.images, [problem.labels.length, h, w, c]);
  let synthetic: tf.Tensor4D = tf.tensor4d(problem.init ?? initialImages(problem, config.init), [
    problem.classes,
    h,
    w,
    c,
  ]);
  let velocity: tf.Tensor4D = tf.zerosLike(synthetic);
  // SGD in the normalised pixel space (x − mean)/std, as DM optimises, so lr keeps DM's units:
  // a raw-pixel step of lr·std²·g equals a normalised step of lr·g_normalised.
  const stepScale = tf.tensor1d(config.std.map((s) => s * s));
  const lambda = problem.lambda ?? config.lambda;
  let firstLoss = Number.NaN;
  let lastLoss = Number.NaN;
  try {
    for (let t = 0; t < config.iterations; t++) {
      const params = paramTensors(initWeights(spec, subsetSeed(problem.seed, 1, t)));
      const fx = tf.tidy(() => forward(spec, params, real) as tf.Tensor2D);
      const stats = classStats(fx, problem.labels, problem.classes);
      const { value, grad } = tf.tidy(() =>
        tf.valueAndGrad((y: tf.Tensor) =>
          eq5Loss(forward(spec, params, y) as tf.Tensor2D, stats, lambda, config.repulsion),
        )(synthetic),
      );
      const [nextVelocity, nextSynthetic] = tf.tidy(() => {
        const v = tf.add(tf.mul(velocity, config.momentum), grad) as tf.Tensor4D;
        const step = tf.mul(v, tf.mul(stepScale, problem.lr ?? config.lr));
        const y = tf.clipByValue(tf.sub(synthetic, step), 0, 1) as tf.Tensor4D;
        return [v, y];
      });
      if (t === 0) firstLoss = value.dataSync()[0];
      if (t === config.iterations - 1) lastLoss = value.dataSync()[0];
      tf.dispose([value, grad, fx, velocity, synthetic, ...Object.values(params)]);
      disposeStats(stats);
      velocity = nextVelocity;
      synthetic = nextSynthetic;
    }
    return { images: synthetic.dataSync() as Float32Array, firstLoss, lastLoss };
  } finally {
    tf.dispose([real, synthetic, velocity, stepScale]);
  }
}

/** Eq. 5 (divided by N) of `synthetic` averaged over `nets` fresh ConvNets: a noise-free score. */
export function meanLoss(
  synthetic: Float32Array,
  problem: SubsetProblem,
  config: DmConfig,
  nets: number,
  seed = 0x5eed,
): number {
  const [h, w, c] = problem.shape;
  const spec = distillConvNetSpec({
    input: problem.shape,
    width: config.width,
    mean: config.mean,
    std: config.std,
  });
  let total = 0;
  for (let k = 0; k < nets; k++) {
    const params = paramTensors(initWeights(spec, subsetSeed(seed, 2, k)));
    const fx = tf.tidy(() =>
      forward(spec, params, tf.tensor4d(problem.images, [problem.labels.length, h, w, c])),
    ) as tf.Tensor2D;
    const stats = classStats(fx, problem.labels, problem.classes);
    const loss = tf.tidy(() =>
      eq5Loss(
        forward(spec, params, tf.tensor4d(synthetic, [problem.classes, h, w, c])) as tf.Tensor2D,
        stats,
        problem.lambda ?? config.lambda,
        config.repulsion,
      ),
    );
    total += loss.dataSync()[0];
    tf.dispose([loss, fx, ...Object.values(params)]);
    disposeStats(stats);
  }
  return total / nets;
}
