// Forward and backward ONNX emitter for instance norm (per-sample, per-channel statistics over
// H×W, as the distillation ConvNet normalises), with the optional affine gamma/beta.
import type { InstanceNormLayer } from "../../nn/spec.js";
import {
  type GradContext,
  type LayerResult,
  reduceSum,
  reshape,
  type Value,
} from "./grad-context.js";

/**
 * y = x̂·γ + β with x̂ = (x − mean)/sqrt(var + ε) over each sample's H×W (biased variance, as
 * tf.moments gives); dx = invstd·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂)) with dŷ = dy·γ, the
 * gradient through both statistics.
 */
export function instanceNorm(
  ctx: GradContext,
  layer: InstanceNormLayer,
  x: Value,
  path: string,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  if (x.shape.length !== 3) throw new Error(`ORT training: instanceNorm ${path} needs [H, W, C]`);
  const axes = [2, 3];
  const c = x.shape[2];
  const affine = layer.affine ?? false;
  const epsilon = layer.epsilon ?? 1e-5;
  const trainsAffine = affine && (ctx.wants(`${path}.gamma`) || ctx.wants(`${path}.beta`));
  if (!needDx && !trainsAffine) {
    // Forward only (the real images' embedding): onnxruntime's fused kernel, one op.
    const scale = affine
      ? ctx.weight(`${path}.gamma`)
      : g.float("in_ones", [c], new Float32Array(c).fill(1));
    const bias = affine
      ? ctx.weight(`${path}.beta`)
      : g.float("in_zeros", [c], new Float32Array(c));
    const y = g.op(
      "InstanceNormalization",
      [x.name, scale, bias],
      { epsilon: { float: epsilon } },
      `${path}.out`,
    );
    return { out: { name: y, shape: x.shape }, backward: () => undefined };
  }
  const gamma = affine ? reshape(ctx, ctx.weight(`${path}.gamma`), [c, 1, 1], "in_gamma") : "";
  const eps = g.float("in_eps", [], Float32Array.of(epsilon));
  const mean = g.op("ReduceMean", [x.name], { axes, keepdims: 1 }, "in_mean");
  const centred = g.op("Sub", [x.name, mean], {}, "in_centred");
  const variance = g.op(
    "ReduceMean",
    [g.op("Mul", [centred, centred])],
    { axes, keepdims: 1 },
    "in_var",
  );
  const invstd = g.op(
    "Reciprocal",
    [g.op("Sqrt", [g.op("Add", [variance, eps])])],
    {},
    "in_invstd",
  );
  const xhat = g.op("Mul", [centred, invstd], {}, affine ? "in_xhat" : `${path}.out`);
  const y = affine
    ? g.op(
        "Add",
        [
          g.op("Mul", [xhat, gamma]),
          reshape(ctx, ctx.weight(`${path}.beta`), [c, 1, 1], "in_beta"),
        ],
        {},
        `${path}.out`,
      )
    : xhat;
  return {
    out: { name: y, shape: x.shape },
    backward: (dy) => {
      if (affine && ctx.wants(`${path}.beta`))
        ctx.grad(`${path}.beta`, reduceSum(ctx, dy, [0, 2, 3]));
      if (affine && ctx.wants(`${path}.gamma`)) {
        ctx.grad(`${path}.gamma`, reduceSum(ctx, g.op("Mul", [dy, xhat]), [0, 2, 3]));
      }
      if (!needDx) return undefined;
      const dxhat = affine ? g.op("Mul", [dy, gamma], {}, "in_dxhat") : dy;
      const meanD = g.op("ReduceMean", [dxhat], { axes, keepdims: 1 }, "in_md");
      const meanDx = g.op(
        "ReduceMean",
        [g.op("Mul", [dxhat, xhat])],
        { axes, keepdims: 1 },
        "in_mdx",
      );
      const inner = g.op("Sub", [g.op("Sub", [dxhat, meanD]), g.op("Mul", [xhat, meanDx])]);
      return g.op("Mul", [inner, invstd], {}, "in_dx");
    },
  };
}
