// Serving's one module that imports onnxruntime-node (lint-enforced): loads a cgnn ONNX model
// with explicit thread settings, checks it against its metadata, validates input shapes, warms
// it up and runs batches.
import { readFile } from "node:fs/promises";
import "../util/ort-telemetry.js";
import * as ort from "onnxruntime-node";
import type { OnnxModelMetadata } from "../onnx/metadata.js";
import { readOnnxMetadata } from "../onnx/read-metadata.js";

export interface LoadOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /** Which graph output `run` returns (default: the model's first output). */
  output?: string;
  /** Run one batch of zeros after loading so the first request pays no set-up cost. */
  warmUp?: boolean;
}

export interface OnnxModel {
  path: string;
  metadata: OnnxModelMetadata;
  /** [H, W, C] of one NHWC image. */
  inputShape: [number, number, number];
  output: string;
  /** Values per image in the selected output. */
  outputDim: number;
  /** n NHWC images in [0, 1] → n × outputDim values. */
  run(batch: Float32Array, n: number): Promise<Float32Array>;
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

export function validateBatch(
  batch: Float32Array,
  n: number,
  shape: readonly number[],
  source: string,
): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${source}: batch size must be a positive integer, got ${n}`);
  }
  const per = shape.reduce((a, b) => a * b, 1);
  if (batch.length !== n * per) {
    throw new Error(
      `${source}: input has ${batch.length} values; expected ${n} × [${shape.join("×")}] NHWC = ${n * per}`,
    );
  }
}

export async function loadOnnxModel(path: string, options: LoadOptions = {}): Promise<OnnxModel> {
  const bytes = await readFile(path).catch((error: Error) => {
    throw new Error(`${path}: cannot read ONNX model (${error.message})`);
  });
  return openOnnxModel(bytes, path, options);
}

/** The same from a model already in memory (an export that was never written); `path` labels errors. */
export async function openOnnxModel(
  bytes: Uint8Array,
  path: string,
  options: LoadOptions = {},
): Promise<OnnxModel> {
  const metadata = readOnnxMetadata(bytes, path);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: options.interOpNumThreads ?? 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
  } catch (error) {
    throw new Error(`${path}: onnxruntime cannot load the model (${(error as Error).message})`);
  }
  const output = options.output ?? metadata.outputs[0]?.name;
  const outInfo = metadata.outputs.find((o) => o.name === output);
  if (!outInfo || !session.outputNames.includes(output)) {
    throw new Error(
      `${path}: the model has no output ${output} (has ${session.outputNames.join(", ")})`,
    );
  }
  const inputShape = metadata.input.shape;
  const inputName = metadata.input.name;
  if (!session.inputNames.includes(inputName)) {
    throw new Error(`${path}: the model has no input ${inputName} named in its metadata`);
  }
  const outputDim = outInfo.shape.reduce((a, b) => a * b, 1);
  const model: OnnxModel = {
    path,
    metadata,
    inputShape,
    output,
    outputDim,
    async run(batch, n) {
      validateBatch(batch, n, inputShape, path);
      const feeds = { [inputName]: new ort.Tensor("float32", batch, [n, ...inputShape]) };
      const result = await session.run(feeds, [output]);
      const data = result[output].data;
      if (!(data instanceof Float32Array) || data.length !== n * outputDim) {
        throw new Error(`${path}: output ${output} has an unexpected type or size`);
      }
      return data;
    },
    async warmUp() {
      await model.run(new Float32Array(inputShape.reduce((a, b) => a * b, 1)), 1);
    },
    async close() {
      await session.release();
    },
  };
  if (options.warmUp ?? true) await model.warmUp();
  return model;
}
