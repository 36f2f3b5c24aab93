// The --augment and --jitter flags of the training scripts (train-embedder, taylor-direct): one
// flag-table fragment each script spreads into its own table, and its values as an Augment.
import { choice, list } from "../util/flag-table.js";
import { type AffineJitter, type Augment, affineJitter } from "./augment.js";

/** The scripts' default jitter: 2 px at 28×28, 10°, 10% (the value --help shows and runs record). */
const SCRIPT_JITTER: AffineJitter = { shift: 0.0714, rotate: 10, scale: 0.1 };

/** The fragment, with a script's own jitter default and a note on where the jitter acts. */
export function augmentFlags(options: { jitter?: AffineJitter; note?: string } = {}) {
  const { shift, rotate, scale } = options.jitter ?? SCRIPT_JITTER;
  return {
    augment: choice(["none", "affine"], "training augmentation", { default: "none" }),
    jitter: list(
      { kind: "number", min: 0 },
      `largest affine jitter${options.note ? ` ${options.note}` : ""}: SHIFT (fraction of the side), DEGREES, SCALE`,
      { length: 3, default: [shift, rotate, scale], arg: "SHIFT,DEGREES,SCALE" },
    ),
  } as const;
}

/** What a run records of its augmentation (checkpoint extras, metrics). */
export type AugmentRecord = "none" | ({ kind: "affine" } & AffineJitter);

/** The Augment the flag values ask for (undefined for none) and the record of it. */
export function augmentFrom(values: { augment: "none" | "affine"; jitter: number[] }): {
  augment: Augment | undefined;
  record: AugmentRecord;
} {
  if (values.augment === "none") return { augment: undefined, record: "none" };
  const [shift, rotate, scale] = values.jitter;
  return {
    augment: affineJitter({ shift, rotate, scale }),
    record: { kind: "affine", shift, rotate, scale },
  };
}
