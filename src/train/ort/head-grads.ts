// The training objective of the ORT gradient graph: softmax cross-entropy on the network's
// logits, or an embedder head on its embedding (a linear classifier, or ArcFace exactly as
// src/nn/arcface.ts computes it), with the loss, the logits used for accuracy, and dL/d(output).
import { type ModelSpec, outputShape, type ParamInfo } from "../../nn/spec.js";
import type { HeadForm } from "../losses.js";
import { type GradContext, reduceSum, type Value } from "./grad-context.js";

export interface HeadResult {
  /** Mean loss over the batch (a scalar). */
  loss: string;
  /** Class scores [N, classes] whose argmax is the prediction (the head's `logits`). */
  logits: string;
  /** The gradient of the loss with respect to the network's output. */
  dOutput: string;
}

/** The head's parameters ("head.<name>"), as src/train/heads.ts declares them. */
export function headParams(form: HeadForm, spec: ModelSpec, classes: number): ParamInfo[] {
  const [d] = outputShape(spec);
  const param = (name: string, shape: number[]): ParamInfo => ({
    name: `head.${name}`,
    shape,
    trainable: true,
    init: "zeros",
    fanIn: d,
  });
  return form.kind === "linear"
    ? [param("kernel", [d, classes]), param("bias", [classes])]
    : [param("weight", [d, classes])];
}

/** Mean softmax cross-entropy of logits against one-hot labels, and its gradient (p − y)/N. */
function crossEntropy(ctx: GradContext, logits: string, labels: string) {
  const { g } = ctx;
  const logProbs = g.op("LogSoftmax", [logits], { axis: 1 }, "log_probs");
  const picked = reduceSum(ctx, g.op("Mul", [labels, logProbs]), [1]);
  const loss = g.op("Neg", [g.op("ReduceMean", [picked], { axes: [0], keepdims: 0 })], {}, "loss");
  const n = g.op("Cast", [g.op("Shape", [logits], { start: 0, end: 1 })], { to: 1 }, "n");
  const dLogits = g.op(
    "Div",
    [g.op("Sub", [g.op("Softmax", [logits], { axis: 1 }), labels]), n],
    {},
    "d_logits",
  );
  return { loss, dLogits };
}

function checkFlat(x: Value, classes: number, head: HeadForm | undefined): void {
  if (x.shape.length !== 1) {
    throw new Error(`ORT training: the network outputs [${x.shape}], expected a flat vector`);
  }
  if (!head && x.shape[0] !== classes) {
    throw new Error(`ORT training: the network outputs [${x.shape}], expected [${classes}] logits`);
  }
}

/** The loss on the network output `x` [N, D] with `labels` one-hot [N, classes]. */
export function emitHead(
  ctx: GradContext,
  head: HeadForm | undefined,
  x: Value,
  labels: string,
  classes: number,
): HeadResult {
  checkFlat(x, classes, head);
  if (!head) {
    const { loss, dLogits } = crossEntropy(ctx, x.name, labels);
    return { loss, logits: x.name, dOutput: dLogits };
  }
  if (head.kind === "linear") return linearHead(ctx, x, labels);
  return arcfaceHead(ctx, head, x, labels);
}

function linearHead(ctx: GradContext, x: Value, labels: string): HeadResult {
  const { g } = ctx;
  const kernel = ctx.weight("head.kernel");
  const logits = g.op("Gemm", [x.name, kernel, ctx.weight("head.bias")], {}, "head.logits");
  const { loss, dLogits } = crossEntropy(ctx, logits, labels);
  ctx.grad("head.bias", reduceSum(ctx, dLogits, [0]));
  ctx.grad("head.kernel", g.op("Gemm", [x.name, dLogits], { transA: 1 }, "head.dkernel"));
  const dOutput = g.op("Gemm", [dLogits, kernel], { transB: 1 }, "head.dx");
  return { loss, logits, dOutput };
}

/** 1 where lo ≤ x ≤ hi (tfjs's clipByValue passes the gradient there), else 0. */
function inside(ctx: GradContext, x: string, lo: number, hi: number): string {
  const { g } = ctx;
  const loT = g.float("lo", [], Float32Array.of(lo));
  const hiT = g.float("hi", [], Float32Array.of(hi));
  const both = g.op("And", [g.op("GreaterOrEqual", [x, loT]), g.op("LessOrEqual", [x, hiT])]);
  return g.op("Cast", [both], { to: 1 }, "inside");
}

/**
 * x / max(‖x‖, 1e-12) along `axis` (keepdims), and its backward
 * dx = (de − e·Σ(de·e)) / r, exact wherever ‖x‖ ≥ 1e-12 (below it tfjs divides by the floor).
 */
function unitNorm(ctx: GradContext, x: string, axis: number, base: string) {
  const { g } = ctx;
  const norm = g.op("Sqrt", [reduceSum(ctx, g.op("Mul", [x, x]), [axis], 1)], {}, `${base}_norm`);
  const r = g.op("Max", [norm, g.float("norm_floor", [], Float32Array.of(1e-12))], {}, base);
  const e = g.op("Div", [x, r], {}, `${base}_unit`);
  const backward = (de: string) => {
    const along = reduceSum(ctx, g.op("Mul", [de, e]), [axis], 1);
    return g.op("Div", [g.op("Sub", [de, g.op("Mul", [e, along])]), r], {}, `d_${base}`);
  };
  return { e, backward };
}

/**
 * ArcFace: c = clip(ê·ŵ, −1, 1); the target logit s·cos(θ + m) where c > threshold, else the
 * fallback (c − m·sin m, or c with the easy margin); the others s·c. Accuracy reads s·c.
 */
function arcfaceHead(
  ctx: GradContext,
  head: Extract<HeadForm, { kind: "arcface" }>,
  x: Value,
  labels: string,
): HeadResult {
  const { g } = ctx;
  const { scale, margin, easyMargin } = head;
  const num = (base: string, v: number) => g.float(base, [], Float32Array.of(v));
  const one = num("one", 1);
  const weight = ctx.weight("head.weight");
  const emb = unitNorm(ctx, x.name, 1, "arc_e");
  const cls = unitNorm(ctx, weight, 0, "arc_w");
  const raw = g.op("MatMul", [emb.e, cls.e], {}, "arc_raw");
  const cos = g.op("Clip", [raw, num("minus_one", -1), one], {}, "arc_cos");
  const sineSq = g.op("Sub", [one, g.op("Mul", [cos, cos])], {}, "arc_sin2");
  const sine = g.op("Sqrt", [g.op("Clip", [sineSq, num("sin2_floor", 1e-7), one])], {}, "arc_sin");
  const widened = g.op("Sub", [
    g.op("Mul", [cos, num("cos_m", Math.cos(margin))]),
    g.op("Mul", [sine, num("sin_m", Math.sin(margin))]),
  ]);
  const threshold = easyMargin ? 0 : Math.cos(Math.PI - margin);
  const fallback = easyMargin
    ? cos
    : g.op("Sub", [cos, num("mm", Math.sin(margin) * margin)], {}, "arc_fallback");
  const inRangeBool = g.op("Greater", [cos, num("threshold", threshold)]);
  const target = g.op("Where", [inRangeBool, widened, fallback], {}, "arc_target");
  const others = g.op("Sub", [one, labels], {}, "arc_others");
  const mixed = g.op("Add", [g.op("Mul", [labels, target]), g.op("Mul", [others, cos])]);
  const s = num("scale", scale);
  const marginLogits = g.op("Mul", [mixed, s], {}, "arc_logits");
  const logits = g.op("Mul", [cos, s], {}, "head.logits");
  const { loss, dLogits } = crossEntropy(ctx, marginLogits, labels);

  const dMixed = g.op("Mul", [dLogits, s], {}, "arc_dmixed");
  // d widened / d cos = cos m + sin m · c / sine where the sine's clip passes the gradient.
  const dSine = g.op("Mul", [inside(ctx, sineSq, 1e-7, 1), g.op("Div", [cos, sine])]);
  const dWidened = g.op("Add", [
    num("cos_m2", Math.cos(margin)),
    g.op("Mul", [dSine, num("sin_m2", Math.sin(margin))]),
  ]);
  const dTarget = g.op("Where", [inRangeBool, dWidened, one], {}, "arc_dtarget");
  const dCos = g.op("Mul", [dMixed, g.op("Add", [g.op("Mul", [labels, dTarget]), others])]);
  const dRaw = g.op("Mul", [dCos, inside(ctx, raw, -1, 1)], {}, "arc_draw");
  const dE = g.op("MatMul", [dRaw, g.op("Transpose", [cls.e], { perm: [1, 0] })], {}, "arc_de");
  const dW = g.op("MatMul", [g.op("Transpose", [emb.e], { perm: [1, 0] }), dRaw], {}, "arc_dw");
  ctx.grad("head.weight", cls.backward(dW));
  return { loss, logits, dOutput: emb.backward(dE) };
}
