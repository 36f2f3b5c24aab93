// Where a distillation's input comes from, as data (a data set's first N images, or one level of a reference
// set): the coordinator records it and every queue worker loads the same images from it.
import { z } from "zod";
import type { Dataset } from "../data/dataset.js";
import { loadDataset } from "../data/load.js";
import { RESIZE_MODES } from "../data/preprocess.js";
import {
  type ReferenceLevel,
  type ReferenceSet,
  readReferenceSet,
  referenceLevel,
} from "../references/reference-set.js";
import type { DistillData } from "./distill-config.js";

export const DataSpecSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("dataset"),
    name: z.string().min(1),
    limit: z.number().int().positive().optional(),
    /** folder:DIR's size, channels, resize mode and split seed (--size, --channels, --fit, --split-seed). */
    folder: z
      .object({
        size: z.number().int().positive().optional(),
        channels: z.union([z.literal(1), z.literal(3)]).optional(),
        resize: z.enum(RESIZE_MODES).optional(),
        seed: z.number().int().nonnegative().optional(),
      })
      .optional(),
  }),
  z.object({
    kind: z.literal("references"),
    file: z.string().min(1),
    level: z.number().int().positive(),
  }),
]);
export type DataSpec = z.infer<typeof DataSpecSchema>;

/** One level of a reference set as the data that the next levels are distilled from. */
function levelAsDataset(set: ReferenceSet, level: ReferenceLevel): Dataset {
  return {
    name: `${set.version}-L${level.level}`,
    images: level.images,
    labels: level.labels,
    count: level.count,
    height: set.height,
    width: set.width,
    channels: set.channels,
    classes: set.classes,
  };
}

function firstN(d: Dataset, n: number | undefined): Dataset {
  if (n === undefined || n >= d.count) return d;
  const size = d.height * d.width * d.channels;
  return { ...d, images: d.images.slice(0, n * size), labels: d.labels.slice(0, n), count: n };
}

/** The images to distil, and (from a reference set) the levels kept below them. */
export async function loadDistillSource(
  spec: DataSpec,
): Promise<{ data: Dataset; kept: ReferenceLevel[] }> {
  if (spec.kind === "references") {
    const source = await readReferenceSet(spec.file);
    return {
      data: levelAsDataset(source, referenceLevel(source, spec.level)),
      kept: source.levels.filter((l) => l.level <= spec.level),
    };
  }
  const options = spec.folder ? { folder: spec.folder } : {};
  return { data: firstN(await loadDataset(spec.name, "train", options), spec.limit), kept: [] };
}

export function asDistillData(d: Dataset): DistillData {
  return {
    name: d.name,
    images: d.images,
    labels: d.labels,
    shape: [d.height, d.width, d.channels],
    classes: d.classes,
  };
}
