// The `monomials` layer of the direct Taylor model (Eq. 3) in the ORT training graph: every
// monomial of degree 1..n of the flattened input, built degree by degree as parent × variable
// (Gather + Mul, the canonical order of nn/monomials.ts); backward scatters each degree's
// gradient onto its parents and variables (ScatterElements with add) down to degree 1.
//
// The terms are built term-major ([T, N]: one row of N batch values per term), in chunks of
// MONOMIAL_CHUNK terms, each transposed to batch-major while it is in cache, and the pieces
// joined by one Concat: a row Gather copies N contiguous floats per index, where the
// batch-major Gather along axis 1 copied one float per index (≈ 70% of an order-4 step), and
// one whole [T, N] → [N, T] Transpose took ≈ 190 ms of a 300 ms step (docs/RESULTS.md).
import type { MonomialsLayer, Shape } from "../../nn/spec.js";
import {
  type GradContext,
  type LayerResult,
  sumAll,
  transpose,
  type Value,
} from "./grad-context.js";
import { flatten } from "./layer-grads.js";

interface Degree {
  /** [T_d, N] values of the degree-d terms (term-major). */
  value: string;
  terms: number;
  /** For d ≥ 2: per term, its parent among the degree d−1 terms and its new variable. */
  parentIdx?: string;
  variableIdx?: string;
  parent?: string;
  variable?: string;
}

function recurrence(vars: number, order: number): { parent: number[]; variable: number[] }[] {
  const out: { parent: number[]; variable: number[] }[] = [];
  let tuples: number[][] = Array.from({ length: vars }, (_, i) => [i]);
  for (let d = 2; d <= order; d++) {
    const next: number[][] = [];
    const parent: number[] = [];
    const variable: number[] = [];
    tuples.forEach((tuple, p) => {
      for (let v = tuple[tuple.length - 1]; v < vars; v++) {
        next.push([...tuple, v]);
        parent.push(p);
        variable.push(v);
      }
    });
    out.push({ parent, variable });
    tuples = next;
  }
  return out;
}

/** Terms per chunk of the forward build: 512–1024 were fastest of 256…8192 on order 4. */
export const MONOMIAL_CHUNK = 1024;

export function monomials(
  ctx: GradContext,
  layer: MonomialsLayer,
  x: Value,
  outShape: Shape,
  needDx: boolean,
): LayerResult {
  const { g } = ctx;
  const flat = flatten(ctx, x, needDx);
  const vars = flat.out.shape[0];
  const input = transpose(ctx, flat.out.name, [1, 0], "mono_vars");
  const recurrences = recurrence(vars, layer.order);
  const degrees: Degree[] = [{ value: input, terms: vars }];
  // Batch-major [N, chunk] pieces of the output, in term order, for one Concat at the end.
  const pieces: string[] = [flat.out.name];
  recurrences.forEach(({ parent, variable }, i) => {
    const previous = degrees[degrees.length - 1];
    const top = i === recurrences.length - 1;
    const chunks: { a: string; b: string; value: string }[] = [];
    for (let start = 0; start < parent.length; start += MONOMIAL_CHUNK) {
      const end = Math.min(parent.length, start + MONOMIAL_CHUNK);
      const parentIdx = g.int64("mono_parent", parent.slice(start, end));
      const variableIdx = g.int64("mono_var", variable.slice(start, end));
      const a = g.op("Gather", [previous.value, parentIdx], { axis: 0 }, "mono_a");
      const b = g.op("Gather", [input, variableIdx], { axis: 0 }, "mono_b");
      const value = g.op("Mul", [a, b], {}, "monomials");
      chunks.push({ a, b, value });
      // Flatten (a no-op on [N, chunk]) keeps onnxruntime's transpose optimizer from moving
      // the chunks' Transposes past the Concat into one large, cache-unfriendly Transpose.
      const batchMajor = transpose(ctx, value, [1, 0], "monomials_bm");
      pieces.push(g.op("Flatten", [batchMajor], { axis: 1 }, "monomials_piece"));
    }
    const join = (parts: string[], base: string) =>
      parts.length === 1 ? parts[0] : g.op("Concat", parts, { axis: 0 }, base);
    // The whole degree term-major: the next degree's parents, and the backward's operands
    // (the top degree is needed whole only by the backward; its chunks feed the output).
    const whole = (part: "a" | "b" | "value") =>
      join(
        chunks.map((c) => c[part]),
        `mono_${part}`,
      );
    const keep = needDx;
    degrees.push({
      value: !top || keep ? whole("value") : "",
      terms: parent.length,
      parentIdx: keep ? g.int64("mono_parent", parent) : undefined,
      variableIdx: keep ? g.int64("mono_var", variable) : undefined,
      parent: keep ? whole("a") : undefined,
      variable: keep ? whole("b") : undefined,
    });
  });
  const y = pieces.length === 1 ? pieces[0] : g.op("Concat", pieces, { axis: 1 }, "monomials_out");
  const total = degrees.reduce((s, d) => s + d.terms, 0);
  if (total !== outShape[0])
    throw new Error(`ORT training: ${total} monomials, expected ${outShape}`);

  /** Adds `updates` [T_d, N] into a zero [size-of-like, N] at rows `idx` (repeats add up). */
  const scatterAdd = (like: string, idx: string, updates: string): string => {
    const zeros = g.op("ConstantOfShape", [g.op("Shape", [like])], {}, "mono_zeros");
    const indices = g.op("Expand", [
      g.op("Unsqueeze", [idx, g.int64("axes", [1])]),
      g.op("Shape", [updates]),
    ]);
    return g.op(
      "ScatterElements",
      [zeros, indices, updates],
      { axis: 0, reduction: "add" },
      "mono_scatter",
    );
  };

  return {
    out: { name: y, shape: outShape },
    backward: (dy) => {
      if (!needDx) return undefined;
      const dyTermMajor = transpose(ctx, dy, [1, 0], "mono_dy_t");
      const sizes = degrees.map((d) => d.terms);
      let start = 0;
      const slices = sizes.map((size) => {
        const range = [g.int64("starts", [start]), g.int64("ends", [start + size])];
        start += size;
        return g.op("Slice", [dyTermMajor, ...range, g.int64("axes", [0])], {}, "mono_dy");
      });
      let carried = slices[slices.length - 1];
      const toInput: string[] = [];
      for (let d = degrees.length - 1; d >= 1; d--) {
        const deg = degrees[d];
        const { parent, variable, parentIdx, variableIdx } = deg;
        if (!parent || !variable || !parentIdx || !variableIdx)
          throw new Error("monomial recurrence");
        const toParent = scatterAdd(
          degrees[d - 1].value,
          parentIdx,
          g.op("Mul", [carried, variable]),
        );
        toInput.push(scatterAdd(input, variableIdx, g.op("Mul", [carried, parent])));
        carried = g.op("Add", [slices[d - 1], toParent], {}, "mono_carry");
      }
      toInput.push(carried);
      const dVars = transpose(ctx, sumAll(ctx, toInput, "mono_dx"), [1, 0], "mono_dx_t");
      return flat.backward(dVars);
    },
  };
}
