// The BullMQ distillation queue's contract between the coordinator (scripts/distill.ts --queue) and its workers
// (scripts/distill-worker.ts): the queue's name, a subset job's id and data, the run descriptor every worker
// reads, and where results live in the shared results directory.
import { join } from "node:path";
import { z } from "zod";
import { DataSpecSchema } from "./distill-data.js";

export const QUEUE_NAME = "cgnn-distill";

/** A subset job carries its place in the plan only; images never travel through Redis. */
export interface SubsetJobData {
  run: string;
  level: number;
  subset: number;
}

export interface SubsetJobResult {
  firstLoss: number;
  lastLoss: number;
  /** The result file was already there (a retry after the job's first run had written it). */
  reused: boolean;
}

/** Deterministic: a restarted coordinator finds the jobs it added before. */
export function subsetJobId(run: string, level: number, subset: number): string {
  return `${run}-L${level}-S${subset}`;
}

export class QueueConfigError extends Error {
  override name = "QueueConfigError";
}

/** redis://[:password@]host[:port][/db] → ioredis options. */
export function parseQueueUrl(url: string): {
  host: string;
  port: number;
  password?: string;
  db?: number;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueConfigError(`--queue must be a redis://HOST:PORT URL, got "${url}"`);
  }
  if (parsed.protocol !== "redis:" || !parsed.hostname)
    throw new QueueConfigError(`--queue must be a redis://HOST:PORT URL, got "${url}"`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  if (db !== undefined && !(Number.isInteger(db) && db >= 0))
    throw new QueueConfigError(`--queue: database "${parsed.pathname.slice(1)}" is not a number`);
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== undefined ? { db } : {}),
  };
}

export const RUN_FORMAT = "cgnn-distill-run/1";

/** results/<run>/run.json: everything a worker needs to rebuild any subset's problem of this run. */
export const RunDescriptorSchema = z.object({
  format: z.literal(RUN_FORMAT),
  run: z.string().min(1),
  /** runKey(data, config, engine): a worker refuses to work when its own copy of the data differs. */
  key: z.string().regex(/^[0-9a-f]{64}$/),
  data: DataSpecSchema,
  config: z.looseObject({ fanIns: z.array(z.number().int().positive()), seed: z.number().int() }),
  backend: z.string().min(1),
  /** The distillation engine every worker uses (--engine resolved by the coordinator); absent: tfjs. */
  engine: z
    .object({ engine: z.enum(["tfjs", "ort"]), threads: z.number().int().positive() })
    .optional(),
});
export type RunDescriptor = z.infer<typeof RunDescriptorSchema>;

/** The run's id: a prefix of its key (sha256 of data and config), so the same run has the same jobs. */
export function runIdOf(key: string): string {
  return `run-${key.slice(0, 16)}`;
}

export const runDir = (results: string, run: string) => join(results, run);
export const descriptorPath = (results: string, run: string) => join(results, run, "run.json");
export const subsetResultPath = (results: string, run: string, level: number, subset: number) =>
  join(results, run, `L${level}`, `S${subset}.safetensors`);
