// Test fixtures for the service: tiny real ONNX models, a real reference set of MNIST test digits,
// a manifest tying them together, and PNG/JPEG digit bytes, all in a temp dir.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { Config } from "../src/config.js";
import type { Dataset } from "../src/data/dataset.js";
import { loadMnist } from "../src/data/mnist.js";
import { sha256File, updateManifest } from "../src/models/manifest.js";
import type { ModelSpec } from "../src/nn/spec.js";
import { initWeights, type Weights } from "../src/nn/weights.js";
import { writeOnnxModel } from "../src/onnx/export.js";
import { type ReferenceLevel, writeReferenceSet } from "../src/references/reference-set.js";
import { rng } from "../src/util/random.js";

export const LABELS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** A linear random projection 784 → 64: cosine similarity roughly follows pixel similarity. */
export const embedderSpec: ModelSpec = {
  name: "tiny-embedder",
  input: [28, 28, 1],
  output: "embedding",
  layers: [
    { kind: "normalize", mean: [0.1307], std: [0.3081] },
    { kind: "conv2d", filters: 4, kernel: 3, stride: 2, padding: "same" },
    { kind: "flatten" },
    { kind: "dense", units: 64 },
  ],
};

export const classifierSpec: ModelSpec = {
  name: "tiny-taylornet",
  input: [28, 28, 1],
  output: "logits",
  layers: [
    { kind: "normalize", mean: [0.1307], std: [0.3081] },
    { kind: "flatten" },
    { kind: "dense", units: 10 },
  ],
};

export function classifierWeights(): Weights {
  const weights = initWeights(classifierSpec, 3);
  const random = rng(5);
  weights["2.bias"].data.forEach((_, i, b) => {
    b[i] = random() - 0.5;
  });
  return weights;
}

/** Logits of the tiny classifier computed by hand (for checking the ONNX path). */
export function classifierLogits(weights: Weights, pixels: ArrayLike<number>): number[] {
  const kernel = weights["2.kernel"].data;
  const bias = weights["2.bias"].data;
  return LABELS.map((_, o) => {
    let s = bias[o];
    for (let i = 0; i < 784; i++) s += ((pixels[i] - 0.1307) / 0.3081) * kernel[i * 10 + o];
    return s;
  });
}

let mnist: Promise<Dataset> | undefined;
export function mnistTest(): Promise<Dataset> {
  mnist ??= loadMnist({ split: "test" });
  return mnist;
}

/** Indices of the first `perClass` test images of each class, skipping the first `skip` of each. */
export async function digitsByClass(perClass: number, skip = 0): Promise<number[]> {
  const data = await mnistTest();
  const seen = new Array(10).fill(0);
  const out: number[] = [];
  for (let i = 0; i < data.count && out.length < perClass * 10; i++) {
    const c = data.labels[i];
    if (seen[c]++ >= skip && seen[c] <= skip + perClass) out.push(i);
  }
  return out.sort((a, b) => data.labels[a] - data.labels[b] || a - b);
}

async function level(level: number, perClass: number, skip: number): Promise<ReferenceLevel> {
  const data = await mnistTest();
  const idx = await digitsByClass(perClass, skip);
  const images = new Float32Array(idx.length * 784);
  idx.forEach((j, i) => {
    images.set(data.images.subarray(j * 784, (j + 1) * 784), i * 784);
  });
  return { level, images, labels: Uint8Array.from(idx, (j) => data.labels[j]), count: idx.length };
}

/** Writes references version `version` to `file` in `dir` and points the manifest at it. */
export async function writeReferences(
  dir: string,
  version: string,
  file = `references-${version}.safetensors`,
) {
  // Level 5 holds the first test image of each class; levels 1..4 hold others.
  const levels = [
    await level(5, 1, 0),
    await level(4, 2, 1),
    await level(3, 3, 3),
    await level(2, 2, 6),
    await level(1, 4, 8),
  ];
  await writeReferenceSet(join(dir, file), {
    version,
    classes: LABELS,
    levels,
    height: 28,
    width: 28,
    channels: 1,
    provenance: { fixture: true },
  });
  const sha256 = await sha256File(join(dir, file));
  await updateManifest(dir, (m) => {
    m.references = {
      file,
      sha256,
      version,
      embedder: "embedder",
      levels: [1, 2, 3, 4, 5],
      defaultLevel: 5,
    };
    return m;
  });
}

export interface Fixture {
  dir: string;
  classifierWeights: Weights;
  cleanup(): Promise<void>;
}

/** A models directory with a tiny embedder, a tiny classifier, references "v1" and a manifest. */
export async function buildModelsDir(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-service-"));
  const weights = classifierWeights();
  const emb = await writeOnnxModel(
    join(dir, "embedder.onnx"),
    embedderSpec,
    initWeights(embedderSpec, 1),
    {
      name: "embedder",
      version: "e1",
      normalizedOutput: true,
    },
  );
  const cls = await writeOnnxModel(join(dir, "taylornet.onnx"), classifierSpec, weights, {
    name: "taylornet",
    version: "t1",
    labels: LABELS,
  });
  const input = {
    shape: [28, 28, 1] as [number, number, number],
    layout: "NHWC" as const,
    range: [0, 1] as [number, number],
    preprocessing: {},
  };
  await updateManifest(dir, (m) => {
    m.models.embedder = {
      file: "embedder.onnx",
      sha256: emb.sha256,
      role: "embedder",
      format: "onnx",
      version: "e1",
      input,
      output: { name: "embedding_normalized", shape: [64] },
      labels: [],
      metrics: {},
    };
    m.models.taylornet = {
      file: "taylornet.onnx",
      sha256: cls.sha256,
      role: "classifier",
      format: "onnx",
      version: "t1",
      input,
      output: { name: "logits", shape: [10] },
      labels: LABELS,
      metrics: { testAccuracy: 0.1 },
    };
    return m;
  });
  await writeReferences(dir, "v1");
  return {
    dir,
    classifierWeights: weights,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function testConfig(modelsDir: string, overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: "127.0.0.1",
    modelsDir,
    engine: "pool",
    workers: 1,
    threads: 1,
    maxUploadBytes: 1024 * 1024,
    maxImagePixels: 4_000_000,
    maxImagesPerRequest: 8,
    maxQueue: 4096,
    workerRestartMs: 100,
    shutdownDelayMs: 0,
    shutdownTimeoutMs: 8_000,
    defaultK: 3,
    reloadDebounceMs: 50,
    reloadRetryMs: 200,
    logLevel: "info",
    apiKeys: [],
    authOpenPaths: ["/healthz", "/readyz"],
    rateLimit: 0,
    corsOrigins: [],
    exposeProvenance: false,
    reloadPollMs: 0,
    ...overrides,
  };
}

/** MNIST test image `index` as 8-bit grayscale bytes, optionally inverted and upscaled. */
export async function digitPng(
  index: number,
  options: { invert?: boolean; scale?: number } = {},
): Promise<Buffer> {
  return (await digitImage(index, options)).png().toBuffer();
}

export async function digitJpeg(
  index: number,
  options: { invert?: boolean; scale?: number } = {},
): Promise<Buffer> {
  return (await digitImage(index, options)).jpeg({ quality: 90 }).toBuffer();
}

async function digitImage(
  index: number,
  { invert = false, scale = 1 }: { invert?: boolean; scale?: number },
) {
  const data = await mnistTest();
  const gray = Buffer.from(
    data.images
      .subarray(index * 784, (index + 1) * 784)
      .map((v) => Math.round(255 * (invert ? 1 - v : v))),
  );
  const image = sharp(gray, { raw: { width: 28, height: 28, channels: 1 } });
  return scale === 1 ? image : image.resize(28 * scale, 28 * scale, { kernel: "cubic" });
}
