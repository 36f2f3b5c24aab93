// The divide-and-conquer tree of Fig. 7 as data: which images (level 1) or which distilled
// images of the level below (levels ≥ 2) each subset of each level holds. Pure and seeded.
import { rng, shuffleInPlace } from "../util/random.js";

export interface PlanLevel {
  level: number;
  /** Number of subsets; each yields one distilled image per class. */
  subsets: number;
  /**
   * members[s][c]: the class-c inputs of subset s. Level 1: indices into the data set.
   * Level L ≥ 2: indices into level L−1's outputs, which are ordered subset-major
   * (output of subset j for class c is at j·classes + c).
   */
  members: number[][][];
}

export interface DistillPlan {
  classes: number;
  fanIns: number[];
  seed: number;
  levels: PlanLevel[];
}

export class PlanError extends Error {
  override name = "PlanError";
}

export function classCounts(labels: Uint8Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels) {
    if (label >= classes) throw new PlanError(`label ${label} outside 0..${classes - 1}`);
    counts[label]++;
  }
  return counts;
}

/**
 * Plans every level from the labels and the fan-ins (MNIST: 10, 6, 5, 5, 4).
 *
 * Uneven classes: the number of level-1 subsets is fixed by the higher fan-ins,
 * S1 = f2·f3·…·fK (600 for MNIST), so the tree always ends in exactly one image per class and
 * every higher level splits into whole numbers by construction (S_L = S_{L−1} / f_L). The first
 * fan-in is nominal: each class's images are shuffled (seeded) and dealt round-robin over the
 * S1 subsets, so every image is used exactly once and a class of n_c images puts ⌊n_c/S1⌋ or
 * ⌈n_c/S1⌉ of them in each subset (MNIST: 9–12 per class instead of 10).
 *
 * Rejected: fan-ins that are not positive integers; a class with fewer than S1 images (some
 * subset would lack it); a class whose mean per-subset count n_c/S1 is more than a factor of
 * two away from f1 (the fan-ins' product does not fit the data).
 */
export function planDistillation(
  labels: Uint8Array,
  classes: number,
  fanIns: number[],
  seed: number,
): DistillPlan {
  if (fanIns.length === 0) throw new PlanError("fan-ins must list at least one level");
  for (const f of fanIns) {
    if (!Number.isInteger(f) || f < 1) {
      throw new PlanError(`fan-ins must be positive integers, got ${fanIns.join(",")}`);
    }
  }
  const counts = classCounts(labels, classes);
  const s1 = fanIns.slice(1).reduce((a, b) => a * b, 1);
  const product = s1 * fanIns[0];
  counts.forEach((n, c) => {
    if (n < s1) {
      throw new PlanError(
        `class ${c} has ${n} images but fan-ins ${fanIns.join(",")} need ${s1} level-1 subsets with at least one image of every class`,
      );
    }
    const perSubset = n / s1;
    if (perSubset > 2 * fanIns[0] || perSubset < fanIns[0] / 2) {
      throw new PlanError(
        `fan-ins ${fanIns.join(",")} expect about ${product} images per class (product), but class ${c} has ${n}`,
      );
    }
  });

  const random = rng(seed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((label, i) => {
    byClass[label].push(i);
  });
  const first: number[][][] = Array.from({ length: s1 }, () =>
    Array.from({ length: classes }, () => []),
  );
  byClass.forEach((indices, c) => {
    shuffleInPlace(indices, random).forEach((image, k) => {
      first[k % s1][c].push(image);
    });
  });
  const levels: PlanLevel[] = [{ level: 1, subsets: s1, members: first }];

  let below = s1;
  for (let l = 1; l < fanIns.length; l++) {
    const fan = fanIns[l];
    const subsets = below / fan;
    const members = Array.from({ length: subsets }, (_, s) =>
      Array.from({ length: classes }, (_, c) =>
        Array.from({ length: fan }, (_, k) => (s * fan + k) * classes + c),
      ),
    );
    levels.push({ level: l + 1, subsets, members });
    below = subsets;
  }
  return { classes, fanIns: [...fanIns], seed, levels };
}

/** A seed for one subset that depends only on (run seed, level, subset), not on scheduling. */
export function subsetSeed(seed: number, level: number, subset: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [level, subset]) {
    h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}
