// λ for each level of the hierarchy: Eq. 5's minimiser extrapolates each class past its mean,
// and stacked levels compound that, so "hierarchy" scope splits one λ's extrapolation over them.

export const LAMBDA_SCOPES = ["hierarchy", "level"] as const;
export type LambdaScope = (typeof LAMBDA_SCOPES)[number];

/**
 * For balanced classes Eq. 5's minimiser is y* = μ_α + c·(μ_α − μ_others) with
 * c = (n−1)/(λ − (n−1)) (see loss.ts). Stacking K levels multiplies the class separation by
 * (1 + c_L) per level. `hierarchy` picks the per-level λ_L whose K-fold product equals one
 * distillation's 1 + c at `lambda`, so the whole hierarchy separates the classes as much as one
 * Eq. 5 distillation with λ does; `level` uses λ at every level as the paper writes it. With
 * λ ≤ n − 1 there is no finite minimiser to share out, and λ is used as given.
 */
export function levelLambda(
  lambda: number,
  classes: number,
  levels: number,
  scope: LambdaScope,
): number {
  const others = classes - 1;
  if (scope === "level" || levels <= 1 || lambda <= others) return lambda;
  const perLevel = (1 + others / (lambda - others)) ** (1 / levels) - 1;
  return others + others / perLevel;
}

/**
 * The learning rate that keeps a level's step as large as `lr` makes it at `lambda`: the
 * gradient of Eq. 5 on a synthetic embedding scales with λ − (n−1).
 */
export function levelLr(lr: number, lambda: number, levelLambdaValue: number, classes: number) {
  const others = classes - 1;
  if (lambda <= others || levelLambdaValue <= others) return lr;
  return (lr * (lambda - others)) / (levelLambdaValue - others);
}
