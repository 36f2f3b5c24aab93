// The shared results directory of a queued distillation: one file per subset, written atomically, and the
// run descriptor; both sides read and write only through here.
import { readFile } from "node:fs/promises";
import { writeJsonAtomic } from "../util/atomic-write.js";
import { decodeSafetensors, saveSafetensors } from "../util/safetensors.js";
import type { SubsetResult } from "./dm.js";
import {
  descriptorPath,
  type RunDescriptor,
  RunDescriptorSchema,
  subsetResultPath,
} from "./queue-contract.js";

const RESULT_FORMAT = "cgnn-distill-subset/1";

export async function writeSubsetResult(
  results: string,
  run: string,
  where: { level: number; subset: number },
  result: SubsetResult,
  shape: [number, number, number],
): Promise<void> {
  const classes = result.images.length / (shape[0] * shape[1] * shape[2]);
  await saveSafetensors(
    subsetResultPath(results, run, where.level, where.subset),
    { images: { shape: [classes, ...shape], data: result.images } },
    {
      format: RESULT_FORMAT,
      firstLoss: String(result.firstLoss),
      lastLoss: String(result.lastLoss),
    },
  );
}

/** The subset's result, or undefined when it has not been written (yet). */
export async function readSubsetResult(
  results: string,
  run: string,
  level: number,
  subset: number,
): Promise<SubsetResult | undefined> {
  const path = subsetResultPath(results, run, level, subset);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const { weights, metadata } = decodeSafetensors(bytes, path);
  if (metadata.format !== RESULT_FORMAT || !weights.images)
    throw new Error(`${path}: not a distilled subset (format ${metadata.format})`);
  return {
    images: weights.images.data,
    firstLoss: Number(metadata.firstLoss),
    lastLoss: Number(metadata.lastLoss),
  };
}

export async function writeRunDescriptor(
  results: string,
  descriptor: RunDescriptor,
): Promise<void> {
  await writeJsonAtomic(descriptorPath(results, descriptor.run), descriptor);
}

/** The run's descriptor, or undefined when the coordinator has not written one. */
export async function readRunDescriptor(
  results: string,
  run: string,
): Promise<RunDescriptor | undefined> {
  const path = descriptorPath(results, run);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const raw = JSON.parse(text);
  const parsed = RunDescriptorSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.issues[0].message}`);
  // The config exactly as written (key order included): the run key hashes its JSON.
  return { ...parsed.data, config: raw.config };
}
