// One subset's distillation problem, built from the plan by the same function wherever the subset runs (the
// local worker pool or a queue worker on another machine), so both give the same images bit for bit.

import type { DistillConfig } from "./distill-config.js";
import type { DmConfig, SubsetProblem } from "./dm.js";
import { levelLambda, levelLr } from "./level-lambda.js";
import { type DistillPlan, type PlanLevel, subsetSeed } from "./plan.js";

/** The per-subset settings of a run (what every worker needs besides the subset's images). */
export function dmConfigOf(config: DistillConfig): DmConfig {
  return {
    iterations: config.iterations,
    width: config.width,
    lr: config.lr,
    momentum: config.momentum,
    lambda: config.lambda,
    repulsion: config.repulsion,
    mean: config.mean,
    std: config.std,
    init: config.init,
  };
}

/** λ and lr of one level (level-lambda.ts): the config's own, or scaled for the hierarchy. */
export function levelSettings(config: DistillConfig, classes: number, plan: DistillPlan) {
  const lambda = levelLambda(
    config.lambda,
    classes,
    config.hierarchyLevels ?? plan.levels.length,
    config.lambdaScope ?? "level",
  );
  return { lambda, lr: levelLr(config.lr, config.lambda, lambda, classes) };
}

/**
 * The problem of subset `subset` of `level`: its members' images in class-major order, its labels and its
 * seed. `pick(index)` returns one input image: of the data set (level 1) or of level L−1's outputs, index
 * `j·classes + c` being subset j's image of class c (plan.ts).
 */
export function subsetProblem(
  config: DistillConfig,
  plan: DistillPlan,
  level: PlanLevel,
  subset: number,
  shape: [number, number, number],
  pick: (index: number) => Float32Array,
): SubsetProblem {
  const size = shape[0] * shape[1] * shape[2];
  const members = level.members[subset];
  const labels = members.flatMap((inputs, cls) => inputs.map(() => cls));
  const images = new Float32Array(labels.length * size);
  members.flat().forEach((index, k) => {
    images.set(pick(index), k * size);
  });
  const { lambda, lr } = levelSettings(config, plan.classes, plan);
  return {
    images,
    labels,
    classes: plan.classes,
    shape,
    seed: subsetSeed(config.seed, level.level, subset),
    ...(lambda !== config.lambda ? { lambda, lr } : {}),
  };
}
