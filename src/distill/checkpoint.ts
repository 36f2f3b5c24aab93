// Distillation checkpoints: per level, the distilled images and which subsets are done, in one
// safetensors file keyed by a hash of the data and config, so that a checkpoint only resumes
// the very same run. Writes are queued so that they never overlap.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { decodeSafetensors, type NamedTensors, saveSafetensors } from "../util/safetensors.js";
import type { DistillConfig, DistillData } from "./distill-config.js";
import type { DistillPlan } from "./plan.js";

const CHECKPOINT_FORMAT = "cgnn-distill-checkpoint/1";

/** One level's progress: its images (subsets × classes × H × W × C) and done flags. */
export interface LevelState {
  images: Float32Array;
  done: Uint8Array;
}

export interface Restored {
  done: Map<number, LevelState>;
  /** Subsets marked done in the checkpoint. */
  count: number;
}

/** sha256 of the data and config: a checkpoint only resumes the very same run. */
export function runKey(data: DistillData, config: DistillConfig, engine = "tfjs"): string {
  const hash = createHash("sha256");
  // Engines agree only up to float rounding: a resumed run stays on the engine it started on.
  if (engine !== "tfjs") hash.update(`engine:${engine}`);
  hash.update(JSON.stringify({ name: data.name, shape: data.shape, classes: data.classes }));
  hash.update(new Uint8Array(data.images.buffer, data.images.byteOffset, data.images.byteLength));
  hash.update(data.labels);
  hash.update(JSON.stringify(config));
  return hash.digest("hex");
}

/** The levels a checkpoint holds; nothing when the file does not exist. */
export async function loadDistillCheckpoint(
  path: string,
  key: string,
  plan: DistillPlan,
): Promise<Restored> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { done: new Map(), count: 0 };
    throw error;
  }
  const { weights, metadata } = decodeSafetensors(bytes, path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a distillation checkpoint (format ${metadata.format})`);
  }
  if (metadata.key !== key) {
    throw new Error(
      `${path}: checkpoint belongs to another run (different data, config or engine); remove it or drop --resume`,
    );
  }
  const restored: Restored = { done: new Map(), count: 0 };
  for (const level of plan.levels) {
    const images = weights[`level${level.level}.images`];
    const done = weights[`level${level.level}.done`];
    if (!images || !done) continue;
    const flags = Uint8Array.from(done.data);
    restored.done.set(level.level, { images: images.data, done: flags });
    restored.count += flags.reduce((a, b) => a + b, 0);
  }
  return restored;
}

/** Queues atomic checkpoint writes of the live level states (none without a path). */
export class CheckpointWriter {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string | undefined,
    private readonly metadata: Record<string, string>,
    private readonly state: ReadonlyMap<number, LevelState>,
    /** [classes, H, W, C] of one subset's images. */
    private readonly subsetShape: number[],
  ) {}

  static forRun(
    path: string | undefined,
    key: string,
    config: DistillConfig,
    state: ReadonlyMap<number, LevelState>,
    subsetShape: number[],
  ): CheckpointWriter {
    const metadata = { format: CHECKPOINT_FORMAT, key, config: JSON.stringify(config) };
    return new CheckpointWriter(path, metadata, state, subsetShape);
  }

  /** Queues a write of the current state; resolves when it is on disk. */
  save(): Promise<void> {
    if (!this.path) return this.writing;
    const tensors: NamedTensors = {};
    for (const [level, s] of this.state) {
      tensors[`level${level}.images`] = {
        shape: [s.done.length, ...this.subsetShape],
        data: s.images,
      };
      tensors[`level${level}.done`] = { shape: [s.done.length], data: Float32Array.from(s.done) };
    }
    const path = this.path;
    // The done flags are copied now; image slots of subsets not marked done are ignored on
    // resume, so sharing the live image arrays with a later write is safe.
    this.writing = this.writing.then(() => saveSafetensors(path, tensors, this.metadata));
    return this.writing;
  }

  /** Waits for queued writes, ignoring their failure (the caller already saw it). */
  async settle(): Promise<void> {
    await this.writing.catch(() => undefined);
  }
}
