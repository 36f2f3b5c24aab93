// One complete, verified generation of what the service serves: models, sessions and reference index.
import type { Config } from "../config.js";
import type { ImageInputOptions } from "../data/image.js";
import { type Preprocessing, preprocessingFor } from "../data/preprocess.js";
import { type ReferenceImages, ReferenceIndex } from "../index/reference-index.js";
import { createInferenceEngine, type InferenceEngine } from "../inference/inference.js";
import { acceptsImages, type ImageRunResult } from "../inference/pool.js";
import {
  type Manifest,
  ManifestError,
  type ModelEntry,
  type ReferencesEntry,
  readManifest,
  verifyFile,
} from "../models/manifest.js";
import { readReferenceSet } from "../references/reference-set.js";
import { type Logger, logStep, silentLogger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { preprocessImages } from "./preprocess.js";

export interface LoadedModel {
  name: string;
  entry: ModelEntry;
  engine: InferenceEngine;
  /** The graph output served (the manifest's output.name). */
  output: string;
  /** engine.run, timed into cgnn_inference_duration_seconds (queueing included). */
  run(input: Float32Array, n: number): Promise<Float32Array>;
  /** Encoded images → outputs: decoded and framed in the engine's workers when it has them. */
  runImages(images: readonly Uint8Array[], options: ImageInputOptions): Promise<ImageRunResult>;
}

export interface ServingSet {
  generation: number;
  manifest: Manifest;
  models: Map<string, LoadedModel>;
  embedder: LoadedModel;
  classifier?: LoadedModel;
  references: ReferenceIndex;
  /** The reference images the index was built from (the web page's gallery and Why view). */
  referenceImages: ReferenceImages;
  referencesEntry: ReferencesEntry;
  loadedAt: Date;
}

let generations = 0;

function sameShape(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function loadModel(
  path: string,
  name: string,
  entry: ModelEntry,
  config: Config,
  metrics: Metrics,
  log: Logger,
) {
  const preprocessing = modelPreprocessing(path, entry);
  const engine = await createInferenceEngine(path, {
    engine: config.engine,
    workers: config.workers,
    intraOpNumThreads: config.threads,
    output: entry.output.name,
    warmUp: true,
    maxQueue: config.maxQueue,
    restartDelayMs: { initial: config.workerRestartMs, max: 30_000 },
    onWorkerEvent: ({ kind, ...fields }) => {
      if (kind === "restarted") metrics.workerRestarts.inc({ model: name });
      log(`inference_worker_${kind}`, { model: name, ...fields });
    },
  });
  try {
    if (!sameShape(engine.inputShape, entry.input.shape)) {
      throw new ManifestError(
        `${path}: input shape [${engine.inputShape}] differs from the manifest's [${entry.input.shape}]`,
      );
    }
    const declared = entry.output.shape.filter((d): d is number => typeof d === "number");
    const size = declared.reduce((a, b) => a * b, 1);
    if (declared.length === entry.output.shape.length && size !== engine.outputDim) {
      throw new ManifestError(
        `${path}: output has ${engine.outputDim} values, manifest says ${size}`,
      );
    }
    if (entry.role === "classifier" && entry.labels.length !== engine.outputDim) {
      throw new ManifestError(
        `${path}: ${entry.labels.length} labels for ${engine.outputDim} outputs`,
      );
    }
  } catch (error) {
    await engine.close();
    throw error;
  }
  const run = async (input: Float32Array, n: number) => {
    metrics.inferenceBatchSize.observe({ model: name }, n);
    const end = metrics.inferenceDuration.startTimer({ model: name });
    try {
      return await engine.run(input, n);
    } finally {
      end();
    }
  };
  const runImages = async (images: readonly Uint8Array[], request: ImageInputOptions) => {
    const options = { ...request, preprocessing };
    if (!acceptsImages(engine)) {
      const { batch, inputs } = await preprocessImages(images, engine.inputShape, options);
      return { output: await run(batch, inputs.length), inputs };
    }
    metrics.inferenceBatchSize.observe({ model: name }, images.length);
    const end = metrics.inferenceDuration.startTimer({ model: name });
    try {
      return await engine.runImages(images, options);
    } finally {
      end();
    }
  };
  return { name, entry, engine, output: entry.output.name, run, runImages };
}

/** The manifest's preprocessing for a model, checked at load (a bad record is a ManifestError). */
function modelPreprocessing(path: string, entry: ModelEntry): Preprocessing {
  try {
    return preprocessingFor(
      entry.input.shape,
      entry.input.preprocessing,
      `${path}: input.preprocessing`,
    );
  } catch (error) {
    throw new ManifestError((error as Error).message);
  }
}

/** Picks the classifier /taylornet/predict uses: one named "taylornet" if present, else the first. */
function pickClassifier(models: Map<string, LoadedModel>): LoadedModel | undefined {
  const classifiers = [...models.values()].filter((m) => m.entry.role === "classifier");
  return classifiers.find((m) => m.name === "taylornet") ?? classifiers[0];
}

/** Reads and checks the reference set, embeds it into per-level indexes, and self-tests each level. */
async function loadReferences(path: string, refs: ReferencesEntry, embedder: LoadedModel) {
  const set = await readReferenceSet(path);
  const shape = [set.height, set.width, set.channels];
  const fail = (message: string): never => {
    throw new ManifestError(`references ${refs.file} (${set.version}): ${message}`);
  };
  if (set.version !== refs.version) fail(`the manifest says version ${refs.version}`);
  if (!sameShape(shape, embedder.engine.inputShape)) {
    fail(`images are [${shape}], embedder ${embedder.name} wants [${embedder.engine.inputShape}]`);
  }
  const missing = refs.levels.filter((l) => !set.levels.some((s) => s.level === l));
  if (missing.length) fail(`lacks levels ${missing.join(", ")} listed in the manifest`);
  const embed = (images: Float32Array, n: number) => embedder.engine.run(images, n);
  const index = await ReferenceIndex.build(set, embed, embedder.engine.outputDim);
  const pixels = shape[0] * shape[1] * shape[2];
  for (const level of set.levels) {
    const [hit] = index.search(level.level, await embed(level.images.slice(0, pixels), 1), 1);
    if (!hit || hit.similarity < 0.999) {
      fail(
        `level ${level.level} does not find its own first image (similarity ${hit?.similarity})`,
      );
    }
  }
  return { index, images: set };
}

/**
 * Reads the manifest, verifies every file's sha256, opens and warms every model, embeds the
 * references into per-level indexes and checks that each level finds its own first reference.
 * Throws (after closing what it opened) if anything is wrong.
 */
export async function loadServingSet(
  config: Config,
  metrics: Metrics,
  log: Logger = silentLogger,
): Promise<ServingSet> {
  const dir = config.modelsDir;
  const manifest = await readManifest(dir);
  const refs = manifest.references;
  if (!refs) throw new ManifestError(`${dir}/manifest.json: has no references entry`);
  const embedderRole = manifest.models[refs.embedder].role;
  if (embedderRole !== "embedder") {
    throw new ManifestError(`references.embedder "${refs.embedder}" is a ${embedderRole}`);
  }
  // Every file is checked (present, inside the directory, sha256) before any session opens or
  // warms: a set that will fail for a file fails at once, without touching the serving one.
  const paths = new Map<string, string>();
  for (const [name, entry] of Object.entries(manifest.models)) {
    paths.set(name, await verifyFile(dir, entry));
  }
  const referencesPath = await verifyFile(dir, refs);
  logStep(log, "reload_files_verified", { files: paths.size + 1 });
  const models = new Map<string, LoadedModel>();
  try {
    for (const [name, entry] of Object.entries(manifest.models)) {
      const started = Date.now();
      models.set(name, await loadModel(paths.get(name)!, name, entry, config, metrics, log));
      logStep(log, "model_loaded", { model: name, ms: Date.now() - started });
    }
    const embedder = models.get(refs.embedder)!;
    const { index: references, images: referenceImages } = await loadReferences(
      referencesPath,
      refs,
      embedder,
    );
    return {
      generation: ++generations,
      manifest,
      models,
      embedder,
      classifier: pickClassifier(models),
      references,
      referenceImages,
      referencesEntry: refs,
      loadedAt: new Date(),
    };
  } catch (error) {
    await closeServingSet({ models });
    throw error;
  }
}

export async function closeServingSet(set: Pick<ServingSet, "models">): Promise<void> {
  await Promise.allSettled([...set.models.values()].map((m) => m.engine.close()));
}
