// Fan-ins derived from the class sizes, so a distillation of any data set plans without a
// hand-picked list: equal fan-ins above level 1, the level-1 fan-in taking up the rest.
import { classCounts, PlanError, planDistillation } from "./plan.js";

export class FanInError extends Error {
  override readonly name = "FanInError";
}

/**
 * Fan-ins for `levels` levels (fewer when the smallest class cannot fill them: every level-1
 * subset needs an image of every class) that the planner accepts for classes of these sizes.
 */
export function deriveFanIns(classSizes: readonly number[], levels = 5): number[] {
  const min = Math.min(...classSizes);
  const max = Math.max(...classSizes);
  if (!(min >= 2)) throw new FanInError(`a class has ${min} images; distillation needs at least 2`);
  const usable = Math.max(1, Math.min(levels, Math.floor(Math.log2(min)) + 1));
  const upper = Math.max(2, Math.round(min ** (1 / usable)));
  let depth = usable;
  while (depth > 1 && upper ** (depth - 1) > min) depth--;
  const s1 = upper ** (depth - 1);
  const first = Math.max(1, Math.round(Math.sqrt(min * max) / s1));
  if (max / s1 > 2 * first || min / s1 < first / 2) {
    throw new FanInError(
      `classes of ${min} to ${max} images are too unequal for one plan; pass --fan-ins or balance the classes`,
    );
  }
  return [first, ...new Array(depth - 1).fill(upper)];
}

/**
 * The fan-ins to distil with: `fanIns` when the planner accepts them for these labels, otherwise
 * (with `derive`) as many levels derived from the class sizes, returned with those sizes. Throws
 * the planner's PlanError (without `derive`) or a FanInError, before any distilling.
 */
export function fitFanIns(
  labels: Uint8Array,
  classes: number,
  fanIns: number[],
  seed: number,
  options: { derive: boolean },
): { fanIns: number[]; sizes?: number[] } {
  try {
    planDistillation(labels, classes, fanIns, seed);
    return { fanIns };
  } catch (error) {
    if (!(error instanceof PlanError) || !options.derive) throw error;
    const sizes = classCounts(labels, classes);
    return { fanIns: deriveFanIns(sizes, fanIns.length), sizes };
  }
}
