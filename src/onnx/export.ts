// Turns a ModelSpec and its trained weights into an ONNX model (opset 17, NHWC input with a
// dynamic batch, NCHW inside) that onnxruntime-node serves, with cgnn metadata, written atomically.
import { createHash } from "node:crypto";
import { type ModelSpec, outputShape } from "../nn/spec.js";
import { checkWeights, type Weights } from "../nn/weights.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { encodeSafetensors } from "../util/safetensors.js";
import { assertValidModel } from "./check.js";
import type { CgMode, EmitContext } from "./emit-context.js";
import { emitLayers, l2Normalize } from "./emit-layers.js";
import { GraphBuilder } from "./graph-builder.js";
import { metadataToProps, ONNX_FORMAT, type OnnxModelMetadata } from "./metadata.js";
import { encodeModel, type ModelProto } from "./proto.js";

export const OPSET = 17;
/** IR version 8 pairs with opset 17 (ONNX 1.12+); onnxruntime 1.30 reads up to IR 11. */
export const IR_VERSION = 8;
export const INPUT_NAME = "input";
export const NORMALIZED_OUTPUT = "embedding_normalized";

export interface ExportOptions {
  name?: string;
  version?: string;
  role?: "embedder" | "classifier";
  labels?: string[];
  metrics?: Record<string, unknown>;
  /** What the model was trained on (data set name, size, split). */
  data?: unknown;
  command?: string;
  /** Add an L2-normalised copy of the embedding as a second output (embedders only). */
  normalizedOutput?: boolean;
  cgMode?: CgMode;
  /** How pictures become the input (a preprocess.ts record), stored beside the normalisation. */
  preprocessing?: Record<string, unknown>;
}

/** sha256 of the weights' safetensors encoding without metadata (sorted names, raw F32). */
export function weightsSha256(weights: Weights): string {
  return createHash("sha256").update(encodeSafetensors(weights)).digest("hex");
}

function preprocessing(spec: ModelSpec): Record<string, unknown> {
  const first = spec.layers[0];
  if (first?.kind === "normalize") {
    return { normalize: { mean: first.mean, std: first.std, inGraph: true } };
  }
  return {};
}

export function buildOnnxModel(
  spec: ModelSpec,
  weights: Weights,
  options: ExportOptions = {},
): ModelProto {
  checkWeights(spec, weights);
  const g = new GraphBuilder();
  const ctx: EmitContext = { g, weights, cgMode: options.cgMode ?? "auto" };
  const [h, w, c] = spec.input;
  const input = g.input(INPUT_NAME, ["N", h, w, c]);
  const nchw = g.op("Transpose", [input], { perm: [0, 3, 1, 2] }, "input_nchw");
  let result = emitLayers(ctx, spec.layers, { name: nchw, shape: spec.input });
  if (result.shape.length === 3) {
    const nhwc = g.op("Transpose", [result.name], { perm: [0, 2, 3, 1] }, "output_nhwc");
    result = { name: nhwc, shape: result.shape };
  }
  const outShape = outputShape(spec);
  const outputs: { name: string; shape: number[] }[] = [{ name: spec.output, shape: outShape }];
  g.output(result.name, spec.output, ["N", ...outShape]);
  const normalized = options.normalizedOutput && spec.output === "embedding";
  if (normalized) {
    const lastAxis = { name: result.name, shape: [outShape.at(-1) ?? 1] };
    const safe = l2Normalize(ctx, lastAxis, "embedding_l2");
    g.output(safe, NORMALIZED_OUTPUT, ["N", ...outShape]);
    outputs.push({ name: NORMALIZED_OUTPUT, shape: outShape });
  }
  const role = options.role ?? (spec.output === "embedding" ? "embedder" : "classifier");
  const classes = role === "classifier" ? (outShape.at(-1) ?? 0) : 0;
  const labels = options.labels ?? Array.from({ length: classes }, (_, i) => String(i));
  const meta: OnnxModelMetadata = {
    format: ONNX_FORMAT,
    name: options.name ?? spec.name,
    version: options.version ?? "0",
    role,
    labels,
    input: {
      name: INPUT_NAME,
      shape: spec.input,
      layout: "NHWC",
      range: [0, 1],
      preprocessing: { ...(options.preprocessing ?? {}), ...preprocessing(spec) },
    },
    outputs,
    metrics: options.metrics ?? {},
    data: options.data ?? null,
    weightsSha256: weightsSha256(weights),
    spec,
    createdAt: new Date().toISOString(),
    command: options.command,
  };
  const model: ModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "cgnn",
    producerVersion: "1",
    modelVersion: 1,
    docString: `${meta.name} ${meta.version}: ${role} exported from a cgnn ModelSpec`,
    graph: g.graph(meta.name),
    metadataProps: metadataToProps(meta),
  };
  assertValidModel(model, `ONNX export of ${meta.name}`);
  return model;
}

export function exportOnnx(
  spec: ModelSpec,
  weights: Weights,
  options: ExportOptions = {},
): Uint8Array {
  return encodeModel(buildOnnxModel(spec, weights, options));
}

/** Exports and writes the model atomically (temp file, fsync, rename); returns its sha256. */
export async function writeOnnxModel(
  path: string,
  spec: ModelSpec,
  weights: Weights,
  options: ExportOptions = {},
): Promise<{ bytes: number; sha256: string }> {
  const bytes = exportOnnx(spec, weights, options);
  await writeFileAtomic(path, bytes);
  return { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}
