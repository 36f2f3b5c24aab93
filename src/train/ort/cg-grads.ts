// Eq. 4 forward and backward as ONNX ops on NHWC pixel rows: Slice views of the padded input,
// monomials by the canonical recurrence, one Gemm over all pixels for the term map; backward
// runs the recurrence in reverse (d parent += dT·var, d var += dT·parent) and scatters each
// view back with Pad.
import { monomialRecurrence } from "../../nn/monomials.js";
import { type CgLayer, type Shape, strideFrame, windowGeometry } from "../../nn/spec.js";
import { attribute } from "../../onnx/proto.js";
import {
  type GradContext,
  type LayerResult,
  reduceSum,
  reshape,
  sumAll,
  type Value,
} from "./grad-context.js";
import { toNchw, toNhwc, windowViews } from "./layer-grads.js";

export function cg(
  ctx: GradContext,
  layer: CgLayer,
  x: Value,
  outShape: Shape,
  path: string,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  const [h, w, c] = x.shape;
  const [oh, ow, f] = outShape;
  const { k, s, d, pads } = windowGeometry(layer, h, w);
  const [top, left] = pads;
  const shared = layer.shared ?? false;
  const cin = shared ? 1 : c;
  const hasBias = layer.bias ?? true;

  const rows = (v: string) => reshape(ctx, v, [-1, c], "cg_rows");
  const views = windowViews(ctx, toNhwc(ctx, x.name), k, s, d, pads, [oh, ow]).map(rows);
  const recurrence = monomialRecurrence(views.length, layer.order);
  const terms: string[] = [];
  for (const { parent, variable } of recurrence) {
    terms.push(
      parent < 0 ? views[variable] : g.op("Mul", [terms[parent], views[variable]], {}, "cg_term"),
    );
  }
  const t = terms.length;
  let features = t === 1 ? terms[0] : g.op("Concat", terms, { axis: 1 }, "cg_features");
  if (shared) features = reduceSum(ctx, reshape(ctx, features, [-1, t, c]), [2]);
  const wmat = reshape(ctx, ctx.weight(`${path}.kernel`), [t * cin, f], "cg_w");
  const yInputs = [features, wmat];
  if (hasBias) yInputs.push(ctx.weight(`${path}.bias`));
  const y = g.op("Gemm", yInputs, {}, "cg_y");
  const out = toNchw(ctx, reshape(ctx, y, [-1, oh, ow, f], `${path}.out`));

  const viewsBackward = (dViews: string[]): string => {
    const [frameH, frameW] = strideFrame({ k, s, d, pads, oh, ow });
    const spread = dViews.map((dv, i) => {
      const y0 = Math.floor(i / k) * d;
      const x0 = (i % k) * d;
      const [qy, ry, qx, rx] = [Math.floor(y0 / s), y0 % s, Math.floor(x0 / s), x0 % s];
      const six = reshape(ctx, dv, [-1, oh, 1, ow, 1, c], "cg_d6");
      const pads = [0, qy, ry, qx, rx, 0, 0, frameH / s - qy - oh, s - 1 - ry];
      pads.push(frameW / s - qx - ow, s - 1 - rx, 0);
      return g.op("Pad", [six, g.int64("pads", pads)], {}, "cg_scatter");
    });
    const frame = reshape(ctx, sumAll(ctx, spread, "cg_dframe"), [-1, frameH, frameW, c]);
    const endH = Math.min(frameH, top + h);
    const endW = Math.min(frameW, left + w);
    let dx = frame;
    if (top > 0 || left > 0 || endH < frameH || endW < frameW) {
      dx = g.op("Slice", [
        frame,
        g.int64("starts", [top, left]),
        g.int64("ends", [endH, endW]),
        g.int64("axes", [1, 2]),
      ]);
    }
    const missingH = top + h - endH;
    const missingW = left + w - endW;
    if (missingH > 0 || missingW > 0) {
      dx = g.op("Pad", [dx, g.int64("pads", [0, 0, 0, 0, 0, missingH, missingW, 0])]);
    }
    return toNchw(ctx, dx);
  };

  return {
    out: { name: out, shape: outShape },
    backward: (dy) => {
      const dyRows = reshape(ctx, toNhwc(ctx, dy), [-1, f], "cg_dy");
      if (hasBias) ctx.grad(`${path}.bias`, reduceSum(ctx, dyRows, [0]));
      const dw = g.op("Gemm", [features, dyRows], { transA: 1 }, "cg_dw");
      ctx.grad(`${path}.kernel`, reshape(ctx, dw, [t, cin, f]));
      if (!needDx) return undefined;
      const dFeatures = g.op("Gemm", [dyRows, wmat], { transB: 1 }, "cg_dfeatures");
      const width = shared ? 1 : c;
      const dTerms: string[][] = recurrence.map(() => []);
      if (t === 1) dTerms[0].push(dFeatures);
      else {
        const splits = g.int64("split", Array(t).fill(width));
        const outputs = Array.from({ length: t }, () => g.name("cg_dterm"));
        g.nodes.push({
          opType: "Split",
          name: outputs[0],
          input: [dFeatures, splits],
          output: outputs,
          attribute: [attribute("axis", 1)],
        });
        outputs.forEach((o, i) => {
          dTerms[i].push(o);
        });
      }
      const dViews: string[][] = views.map(() => []);
      for (let i = t - 1; i >= 0; i--) {
        const { parent, variable } = recurrence[i];
        const dT = sumAll(ctx, dTerms[i], "cg_dterm_sum");
        if (parent < 0) {
          dViews[variable].push(dT);
          continue;
        }
        dTerms[parent].push(g.op("Mul", [dT, views[variable]], {}, "cg_dparent"));
        dViews[variable].push(g.op("Mul", [dT, terms[parent]], {}, "cg_dvar"));
      }
      const dv = dViews.map((parts) => {
        const sum = sumAll(ctx, parts, "cg_dview");
        return shared && layer.order === 1
          ? g.op("Expand", [sum, g.int64("shape", [1, c])], {}, "cg_dview_full")
          : sum;
      });
      return viewsBackward(dv);
    },
  };
}
