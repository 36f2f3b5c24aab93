// The `monomials` layer of the direct Taylor model (Eq. 3) in the ORT training graph: every
// monomial of degree 1..n of the flattened input, built degree by degree as parent × variable
// (Gather + Mul, the canonical order of nn/monomials.ts); backward scatters each degree's
// gradient onto its parents and variables (ScatterElements with add) down to degree 1.
import type { MonomialsLayer, Shape } from "../../nn/spec.js";
import { type GradContext, type LayerResult, sumAll, type Value } from "./grad-context.js";
import { flatten } from "./layer-grads.js";

interface Degree {
  /** [N, T_d] values of the degree-d terms. */
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
  const input = flat.out.name;
  const degrees: Degree[] = [{ value: input, terms: vars }];
  for (const { parent, variable } of recurrence(vars, layer.order)) {
    const previous = degrees[degrees.length - 1];
    const parentIdx = g.int64("mono_parent", parent);
    const variableIdx = g.int64("mono_var", variable);
    const a = g.op("Gather", [previous.value, parentIdx], { axis: 1 }, "mono_a");
    const b = g.op("Gather", [input, variableIdx], { axis: 1 }, "mono_b");
    const value = g.op("Mul", [a, b], {}, "monomials");
    degrees.push({ value, terms: parent.length, parentIdx, variableIdx, parent: a, variable: b });
  }
  const y =
    degrees.length === 1
      ? input
      : g.op(
          "Concat",
          degrees.map((d) => d.value),
          { axis: 1 },
        );
  const total = degrees.reduce((s, d) => s + d.terms, 0);
  if (total !== outShape[0])
    throw new Error(`ORT training: ${total} monomials, expected ${outShape}`);

  /** Adds `updates` [N, T_d] into a zero [N, size-of-like] at columns `idx` (repeats add up). */
  const scatterAdd = (like: string, idx: string, updates: string): string => {
    const zeros = g.op("ConstantOfShape", [g.op("Shape", [like])], {}, "mono_zeros");
    const indices = g.op("Expand", [
      g.op("Unsqueeze", [idx, g.int64("axes", [0])]),
      g.op("Shape", [updates]),
    ]);
    return g.op(
      "ScatterElements",
      [zeros, indices, updates],
      { axis: 1, reduction: "add" },
      "mono_scatter",
    );
  };

  return {
    out: { name: y, shape: outShape },
    backward: (dy) => {
      if (!needDx) return undefined;
      const sizes = degrees.map((d) => d.terms);
      let start = 0;
      const slices = sizes.map((size) => {
        const range = [g.int64("starts", [start]), g.int64("ends", [start + size])];
        start += size;
        return g.op("Slice", [dy, ...range, g.int64("axes", [1])], {}, "mono_dy");
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
      return flat.backward(sumAll(ctx, toInput, "mono_dx"));
    },
  };
}
