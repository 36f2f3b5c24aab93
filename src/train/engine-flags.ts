// The training scripts' engine flags (--engine, --workers for tfjs, --threads for ort) and
// their resolution: which engine a run takes, how many threads it gets, and the line saying so.
import { CliError } from "../util/cli.js";
import { choice, int } from "../util/flags.js";
import { resolveEngine } from "./create-engine.js";
import { TRAINING_ENGINE_CHOICES, type TrainingEngineKind } from "./engine.js";
import type { StepModel } from "./step.js";

export const ENGINE_FLAGS = {
  engine: choice(
    TRAINING_ENGINE_CHOICES,
    "training engine (auto: ort when it supports the model)",
    {
      default: "auto",
    },
  ),
  workers: int("tfjs engine: worker threads (data parallel)", { default: 1, min: 1 }),
  threads: int("ort engine: onnxruntime intra-op threads", { default: 1, min: 1 }),
};

export interface EngineFlagValues {
  engine: (typeof TRAINING_ENGINE_CHOICES)[number];
  workers: number;
  threads: number;
}

export interface ChosenEngine {
  engine: TrainingEngineKind;
  /** What train() takes as `workers`: tfjs worker threads, or ort intra-op threads. */
  workers: number;
  /** "ort (1 intra-op thread(s))" or "tfjs (2 worker(s))", for the script's first line. */
  describe: string;
  /** The run's engine settings for metrics.json. */
  extra: Record<string, unknown>;
}

/** Resolves --engine for this model; a flag meant for the other engine is a usage error. */
export function chooseEngine(
  f: EngineFlagValues,
  model: Pick<StepModel, "spec" | "head">,
): ChosenEngine {
  let engine: TrainingEngineKind;
  try {
    engine = resolveEngine(f.engine, model);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (engine === "ort" && f.workers > 1) {
    throw new CliError(
      `--workers ${f.workers} sets the tfjs engine's worker threads; the ort engine runs one session: give its intra-op threads with --threads`,
    );
  }
  if (engine === "tfjs" && f.threads > 1) {
    throw new CliError(
      `--threads ${f.threads} sets the ort engine's intra-op threads; the tfjs engine's worker threads are --workers`,
    );
  }
  const how = f.engine === "auto" ? " (auto)" : "";
  return engine === "ort"
    ? {
        engine,
        workers: f.threads,
        describe: `ort${how}, ${f.threads} intra-op thread(s)`,
        extra: { engine, threads: f.threads },
      }
    : {
        engine,
        workers: f.workers,
        describe: `tfjs${how}, ${f.workers} worker(s)`,
        extra: { engine, workers: f.workers },
      };
}
