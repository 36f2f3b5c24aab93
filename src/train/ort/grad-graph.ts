// One ONNX inference graph per (spec, trainable set) that computes a whole training step's
// numbers: inputs are the weights (spec layouts), NHWC images and one-hot labels; outputs are
// the mean softmax cross-entropy, the logits, every trainable gradient and the batch-norm
// batch statistics, so onnxruntime-node (which has no training API) can train.
import { type LayerSpec, layerOutputShape, type ModelSpec, modelParams } from "../../nn/spec.js";
import { IR_VERSION, OPSET } from "../../onnx/export.js";
import { GraphBuilder } from "../../onnx/graph-builder.js";
import { encodeModel } from "../../onnx/proto.js";
import type { HeadForm, TrainHead } from "../losses.js";
import { cg } from "./cg-grads.js";
import type { ConvWeightGrad } from "./conv-kernel-grad.js";
import { type GradContext, type LayerResult, sumAll, type Value } from "./grad-context.js";
import { emitHead, headParams } from "./head-grads.js";
import { instanceNorm } from "./instance-norm.js";
import {
  avgPool,
  batchNorm,
  conv2d,
  dense,
  flatten,
  globalAvgPool,
  type LayerOptions,
  normalize,
  relu,
} from "./layer-grads.js";
import { monomials } from "./monomial-grads.js";
import { NCHWC_DOMAIN } from "./nchwc-ops.js";
import type { BlockedStepFilter } from "./nchwc-train.js";

export const SUPPORTED_LAYERS = [
  "normalize",
  "conv2d",
  "cg",
  "batchNorm",
  "instanceNorm",
  "flatten",
  "dense",
  "relu",
  "residual",
  "avgPool",
  "globalAvgPool",
  "monomials",
];

export interface GradGraphOptions {
  convWeightGrad?: ConvWeightGrad;
  /** An embedder head on the output (its parameters "head.*"); none: the output is the logits. */
  head?: HeadForm;
  /**
   * onnxruntime's NCHWc block size (nchwc-block.ts): the convs whose channels are whole blocks
   * run forward and input gradient on its NCHWc kernels. None: every conv is plain ONNX.
   */
  nchwcBlock?: number;
}

export interface GradGraph {
  bytes: Uint8Array;
  images: string;
  labels: string;
  /** Graph input per parameter name (every parameter the training forward reads). */
  weights: Record<string, { input: string; shape: number[] }>;
  loss: string;
  logits: string;
  /** Graph output per trainable parameter name. */
  grads: Record<string, string>;
  stats: Record<string, { mean: string; variance: string }>;
  /** Filters fed again blocked for the NCHWc convs (nchwc-filters.ts fills them); often none. */
  blocked: BlockedStepFilter[];
}

/** Why the ORT engine cannot train this model, or undefined when it can. */
export function ortUnsupported(spec: ModelSpec, head?: TrainHead): string | undefined {
  if (head && !head.form) {
    return "a custom training head (built: softmax cross-entropy, the linear and ArcFace heads)";
  }
  if (!head && spec.output !== "logits") return `output "${spec.output}" (needs logits)`;
  return unsupportedIn(spec.layers, "");
}

function unsupportedIn(layers: LayerSpec[], prefix: string): string | undefined {
  for (const [i, layer] of layers.entries()) {
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    if (!SUPPORTED_LAYERS.includes(layer.kind)) return `layer ${path} (${layer.kind})`;
    if (layer.kind === "residual") {
      const inner =
        unsupportedIn(layer.body, `${path}.body`) ??
        unsupportedIn(layer.shortcut, `${path}.shortcut`);
      if (inner) return inner;
    }
  }
  return undefined;
}

interface Emitter {
  ctx: GradContext;
  options: LayerOptions;
  /** Whether a layer path holds a parameter whose gradient is wanted. */
  trains(path: string): boolean;
}

function emitLayer(
  e: Emitter,
  layer: LayerSpec,
  x: Value,
  path: string,
  needDx: boolean,
): LayerResult {
  const { ctx } = e;
  const out = layerOutputShape(layer, x.shape, path);
  switch (layer.kind) {
    case "normalize":
      return normalize(ctx, layer, x, path, needDx);
    case "conv2d":
      return conv2d(ctx, layer, x, out, path, needDx, e.options);
    case "cg":
      return cg(ctx, layer, x, out, path, needDx);
    case "batchNorm":
      return batchNorm(ctx, layer, x, path, needDx);
    case "instanceNorm":
      return instanceNorm(ctx, layer, x, path, needDx);
    case "flatten":
      return flatten(ctx, x, needDx);
    case "dense":
      return dense(ctx, layer, x, path, needDx);
    case "relu":
      return relu(ctx, x, path, needDx);
    case "avgPool":
      return avgPool(ctx, layer, x, out, path, needDx);
    case "globalAvgPool":
      return globalAvgPool(ctx, x, path, needDx);
    case "monomials":
      return monomials(ctx, layer, x, out, needDx);
    case "residual": {
      const body = emitSequence(e, layer.body, x, `${path}.body`, needDx);
      const shortcut = emitSequence(e, layer.shortcut, x, `${path}.shortcut`, needDx);
      const y = ctx.g.op("Add", [body.out.name, shortcut.out.name], {}, `${path}.out`);
      return {
        out: { name: y, shape: out },
        backward: (dy) => {
          const parts = [body.backward(dy), shortcut.backward(dy)];
          const defined = parts.filter((p): p is string => p !== undefined);
          return needDx ? sumAll(ctx, defined, "d_residual") : undefined;
        },
      };
    }
    default:
      throw new Error(
        `ORT training does not support layer ${path} (${layer.kind}); supported: ${SUPPORTED_LAYERS.join(", ")}; use --engine tfjs`,
      );
  }
}

/**
 * A layer list and its backward: a layer needs its input gradient when the list's input does
 * (needDx) or when an earlier layer of the list trains.
 */
function emitSequence(
  e: Emitter,
  layers: LayerSpec[],
  input: Value,
  prefix: string,
  needDx: boolean,
): LayerResult {
  const tape: LayerResult[] = [];
  let x = input;
  let need = needDx;
  layers.forEach((layer, i) => {
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    const step = emitLayer(e, layer, x, path, need);
    tape.push(step);
    x = step.out;
    if (e.trains(path)) need = true;
  });
  return {
    out: x,
    backward: (dy) => {
      let d: string | undefined = dy;
      for (let i = tape.length - 1; i >= 0 && d !== undefined; i--) d = tape[i].backward(d);
      return needDx ? d : undefined;
    },
  };
}

/**
 * A whole layer list on `input` (NCHW) with its backward, for graphs other than the training
 * step (the distillation loss): parameters in `trainable` get gradients through ctx.grad.
 */
export function emitNetwork(
  ctx: GradContext,
  layers: LayerSpec[],
  input: Value,
  trainable: string[],
  needDx: boolean,
  options: LayerOptions = { convWeightGrad: "im2col" },
): LayerResult {
  const emitter: Emitter = {
    ctx,
    options,
    trains: (path) => trainable.some((n) => n.startsWith(`${path}.`)),
  };
  return emitSequence(emitter, layers, input, "", needDx);
}

export function buildGradGraph(
  spec: ModelSpec,
  classes: number,
  trainable: string[],
  options: GradGraphOptions = {},
): GradGraph {
  const g = new GraphBuilder();
  const params = new Map(modelParams(spec).map((p) => [p.name, p]));
  for (const p of options.head ? headParams(options.head, spec, classes) : []) {
    params.set(p.name, p);
  }
  for (const name of trainable) {
    if (!params.get(name)?.trainable) throw new Error(`ORT training: no trainable ${name}`);
  }
  const wanted = new Set(trainable);
  const result: GradGraph = {
    bytes: new Uint8Array(),
    images: "",
    labels: "",
    weights: {},
    loss: "",
    logits: "",
    grads: {},
    stats: {},
    blocked: [],
  };
  const ctx: GradContext = {
    g,
    weight(name) {
      const existing = result.weights[name];
      if (existing) return existing.input;
      const info = params.get(name);
      if (!info) throw new Error(`ORT training: the spec has no parameter ${name}`);
      const input = g.input(`w:${name}`, info.shape);
      result.weights[name] = { input, shape: info.shape };
      return input;
    },
    wants: (name) => wanted.has(name),
    grad(name, value) {
      if (!wanted.has(name)) return;
      const shape = params.get(name)?.shape ?? [];
      const out = `g:${name}`;
      g.output(value, out, shape);
      result.grads[name] = g.outputs[g.outputs.length - 1].name ?? out;
    },
    batchStats(path, mean, variance) {
      const c = g.outputs.length;
      g.output(mean, `bn:${path}.mean`, ["C"]);
      g.output(variance, `bn:${path}.variance`, ["C"]);
      result.stats[path] = {
        mean: g.outputs[c].name ?? "",
        variance: g.outputs[c + 1].name ?? "",
      };
    },
    blockedFilter(weight, shape, flipped) {
      const known = result.blocked.find((b) => b.weight === weight && b.flipped === flipped);
      if (known) return known.input;
      const input = g.input(`${flipped ? "wflip" : "wblk"}:${weight}`, shape);
      result.blocked.push({ input, weight, shape, flipped });
      return input;
    },
  };
  // auto: about 0.75× im2col's step time on ResNet18-w16 (docs/RESULTS.md, issue 13).
  const layerOptions: LayerOptions = {
    convWeightGrad: options.convWeightGrad ?? "auto",
    nchwcBlock: options.nchwcBlock,
  };
  const [h, w, c] = spec.input;
  result.images = g.input("images", ["N", h, w, c]);
  result.labels = g.input("labels", ["N", classes]);
  const input: Value = {
    name: g.op("Transpose", [result.images], { perm: [0, 3, 1, 2] }, "images_nchw"),
    shape: spec.input,
  };
  const emitter: Emitter = {
    ctx,
    options: layerOptions,
    trains: (path) => trainable.some((n) => n.startsWith(`${path}.`)),
  };
  const network = emitSequence(emitter, spec.layers, input, "", false);
  const x = network.out;
  const head = emitHead(ctx, options.head, x, result.labels, classes);
  g.output(head.loss, "loss", []);
  result.loss = g.outputs[g.outputs.length - 1].name ?? "loss";
  g.output(head.logits, "logits", ["N", classes]);
  result.logits = g.outputs[g.outputs.length - 1].name ?? "logits";
  network.backward(head.dOutput);
  const missing = trainable.filter((name) => !result.grads[name]);
  if (missing.length > 0) throw new Error(`ORT training: no gradient for ${missing.join(", ")}`);
  result.bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: "", version: OPSET },
      ...(g.nodes.some((n) => n.domain === NCHWC_DOMAIN)
        ? [{ domain: NCHWC_DOMAIN, version: 1 }]
        : []),
    ],
    producerName: "cgnn-train",
    producerVersion: "1",
    graph: g.graph(`${spec.name}-train-step`),
  });
  return result;
}
