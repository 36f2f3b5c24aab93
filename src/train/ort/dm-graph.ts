// One ONNX graph for a distribution-matching step: Eq. 5 between the embeddings of the real
// images of a subset and of the synthetic images under a ConvNet whose random weights are graph
// inputs (one session serves every iteration's fresh network), and d loss / d synthetic images.
import { type ModelSpec, modelParams } from "../../nn/spec.js";
import { IR_VERSION, OPSET } from "../../onnx/export.js";
import { GraphBuilder } from "../../onnx/graph-builder.js";
import { encodeModel } from "../../onnx/proto.js";
import type { GradContext, Value } from "./grad-context.js";
import { reduceSum, reshape } from "./grad-context.js";
import { emitNetwork, ortUnsupported } from "./grad-graph.js";
import {
  type BlockedFilter,
  emitNchwcForward,
  NCHWC_DOMAIN,
  nchwcUnsupported,
} from "./nchwc-forward.js";

export type DmRepulsion = "eq5" | "capped";

export interface DmGraph {
  bytes: Uint8Array;
  /**
   * Real images NHWC in [0, 1], in `realChunks` consecutive parts ([N_i, H, W, C], N = Σ N_i,
   * each part non-empty): their forward runs part by part, so that each part's activations stay
   * in cache, and the embeddings are concatenated back in order.
   */
  real: string[];
  /** One-hot classes of the real images [N, classes]. */
  onehot: string;
  /** Synthetic images NHWC [classes, H, W, C] in [0, 1]. */
  synthetic: string;
  /** λ as a [1] tensor, so per-level λ needs no new session. */
  lambda: string;
  /** Graph input per parameter name (spec layouts). */
  weights: Record<string, { input: string; shape: number[] }>;
  /**
   * With an NCHWc block size, the real images' convolutions run as onnxruntime's NCHWc kernels:
   * their filters, per parameter name, fed again in the blocked layout (nchwc-forward.ts's
   * blockFilter). Empty when the graph is plain.
   */
  blockedFilters: Record<string, BlockedFilter>;
  /** Eq. 5 divided by N, as loss.ts defines it: []. */
  loss: string;
  /** d loss / d synthetic (raw pixels), NHWC. */
  grad: string;
}

/** Why the DM graph cannot be built for this embedding, or undefined when it can. */
export function dmGraphUnsupported(spec: ModelSpec): string | undefined {
  const reason = ortUnsupported({ ...spec, output: "logits" });
  if (reason) return reason;
  if (modelParams(spec).some((p) => !p.trainable)) return "non-trainable state (batch norm)";
  return undefined;
}

/**
 * d_αβ = m_β|y_α|² − 2 y_α·S_β + Q_β (loss.ts) and L = Σ G⊙d with G = (λ·I − off)/N for `eq5`;
 * `capped` replaces off-diagonal d by min(d, D) with D the real class means' distances, whose
 * gradient (as tf.minimum's) passes where d ≤ D. dL/dy_α = 2y_α·Σ_β G_αβ m_β − 2 Σ_β G_αβ S_β.
 * With `nchwcBlock` (nchwc-block.ts) the real images' forward uses onnxruntime's NCHWc kernels
 * where the spec allows (nchwc-forward.ts); the numbers are the same, float rounding apart.
 */
export function buildDmGraph(
  spec: ModelSpec,
  classes: number,
  repulsion: DmRepulsion = "eq5",
  nchwcBlock?: number,
  realChunks = 1,
): DmGraph {
  if (!(Number.isInteger(realChunks) && realChunks >= 1)) {
    throw new Error(`ORT distillation: realChunks must be a positive integer, got ${realChunks}`);
  }
  const why = dmGraphUnsupported(spec);
  if (why) throw new Error(`ORT distillation does not support ${why}; use --engine tfjs`);
  const g = new GraphBuilder();
  const params = new Map(modelParams(spec).map((p) => [p.name, p]));
  const weights: DmGraph["weights"] = {};
  const ctx: GradContext = {
    g,
    weight(name) {
      const existing = weights[name];
      if (existing) return existing.input;
      const info = params.get(name);
      if (!info) throw new Error(`ORT distillation: the spec has no parameter ${name}`);
      const input = g.input(`w:${name}`, info.shape);
      weights[name] = { input, shape: info.shape };
      return input;
    },
    wants: () => false,
    grad() {},
    batchStats() {},
  };
  const [h, w, c] = spec.input;
  const n = classes;
  const real = Array.from({ length: realChunks }, (_, i) =>
    realChunks === 1 ? g.input("real", ["N", h, w, c]) : g.input(`real:${i}`, [`N${i}`, h, w, c]),
  );
  const onehot = g.input("onehot", ["N", n]);
  const synthetic = g.input("synthetic", [n, h, w, c]);
  const lambda = g.input("lambda", [1]);
  const embed = (images: string, needDx: boolean) => {
    const input: Value = {
      name: g.op("Transpose", [images], { perm: [0, 3, 1, 2] }, "nchw"),
      shape: spec.input,
    };
    const net = emitNetwork(ctx, spec.layers, input, [], needDx);
    if (net.out.shape.length !== 1) throw new Error(`ORT distillation: ${spec.name} is not flat`);
    return net;
  };
  const blockedFilters: DmGraph["blockedFilters"] = {};
  const nchwc = nchwcBlock !== undefined && !nchwcUnsupported(spec, nchwcBlock);
  const embedReal = (part: string) => {
    if (!nchwc) return embed(part, false).out;
    const input = g.op("Transpose", [part], { perm: [0, 3, 1, 2] }, "nchw");
    const out = emitNchwcForward(
      ctx,
      spec.layers,
      { name: input, shape: spec.input },
      (path, shape) => {
        const name = `${path}.kernel`;
        blockedFilters[name] ??= { input: g.input(`wc:${name}`, shape), shape };
        return blockedFilters[name].input;
      },
    );
    if (out.shape.length !== 1) throw new Error(`ORT distillation: ${spec.name} is not flat`);
    return out;
  };
  const parts = real.map((part) => embedReal(part).name);
  const fx = parts.length === 1 ? parts[0] : g.op("Concat", parts, { axis: 0 }, "real_embedding");
  const sums = g.op("Gemm", [onehot, fx], { transA: 1 }, "class_sums");
  const sq = reduceSum(ctx, g.op("Mul", [fx, fx]), [1], 1);
  const sqNorms = reshape(ctx, g.op("Gemm", [onehot, sq], { transA: 1 }), [1, n], "class_sq");
  const counts = reduceSum(ctx, onehot, [0], 1);
  const total = reduceSum(ctx, counts, [0, 1], 0);
  const distances = (y: string) => {
    const yy = reduceSum(ctx, g.op("Mul", [y, y]), [1], 1);
    const cross = g.op("Gemm", [y, sums], { transB: 1 }, "cross");
    const two = g.float("two", [], Float32Array.of(2));
    return g.op("Add", [
      g.op("Sub", [g.op("Mul", [yy, counts]), g.op("Mul", [cross, two])]),
      sqNorms,
    ]);
  };
  const syn = embed(synthetic, true);
  const fy = syn.out.name;
  const d = distances(fy);
  const eye = g.float(
    "eye",
    [n, n],
    Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)),
  );
  const off = g.float(
    "off",
    [n, n],
    Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 0 : 1)),
  );
  const pull = g.op("Mul", [eye, lambda], {}, "pull");
  let weight: string;
  let loss: string;
  if (repulsion === "capped") {
    const means = g.op("Div", [sums, reshape(ctx, counts, [n, 1])], {}, "means");
    const cap = distances(means);
    const passes = g.op("Mul", [off, g.op("Cast", [g.op("LessOrEqual", [d, cap])], { to: 1 })]);
    weight = g.op("Sub", [pull, passes], {}, "dm_weight");
    const pulled = reduceSum(ctx, g.op("Mul", [pull, d]), [0, 1]);
    const pushed = reduceSum(ctx, g.op("Mul", [off, g.op("Min", [d, cap])]), [0, 1]);
    loss = g.op("Div", [g.op("Sub", [pulled, pushed]), total], {}, "loss");
  } else {
    weight = g.op("Sub", [pull, off], {}, "dm_weight");
    loss = g.op("Div", [reduceSum(ctx, g.op("Mul", [weight, d]), [0, 1]), total], {}, "loss");
  }
  const scaled = g.op("Div", [weight, total], {}, "dl_dd");
  const rowWeight = reduceSum(ctx, g.op("Mul", [scaled, counts]), [1], 1);
  const two = g.float("two", [], Float32Array.of(2));
  const dfy = g.op(
    "Mul",
    [g.op("Sub", [g.op("Mul", [fy, rowWeight]), g.op("Gemm", [scaled, sums])]), two],
    {},
    "d_fy",
  );
  const dx = syn.backward(dfy);
  if (!dx) throw new Error("ORT distillation: no gradient reaches the synthetic images");
  const grad = g.op("Transpose", [dx], { perm: [0, 2, 3, 1] }, "d_synthetic_nhwc");
  g.output(loss, "loss", []);
  g.output(grad, "d_synthetic", [n, h, w, c]);
  const [lossOut, gradOut] = g.outputs.slice(-2).map((o) => o.name ?? "");
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: "", version: OPSET },
      ...(nchwc ? [{ domain: NCHWC_DOMAIN, version: 1 }] : []),
    ],
    producerName: "cgnn-distill",
    producerVersion: "1",
    graph: g.graph(`${spec.name}-dm-step`),
  });
  return {
    bytes,
    real,
    onehot,
    synthetic,
    lambda,
    weights,
    blockedFilters,
    loss: lossOut,
    grad: gradOut,
  };
}
