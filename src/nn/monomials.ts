// The canonical order of monomials (degree 1..n, then lexicographic index tuples i1 ≤ i2 ≤ …)
// shared by the CG layer, the direct Taylor model, the ONNX exporter and the polynomial algebra.

/** C(vars + degree - 1, degree): monomials of exactly `degree` in `vars` variables. */
export function countMonomialsOfDegree(vars: number, degree: number): number {
  let result = 1;
  for (let i = 1; i <= degree; i++) result = (result * (vars + i - 1)) / i;
  return Math.round(result);
}

/** Monomials of degree 1..order in `vars` variables. */
export function countMonomials(vars: number, order: number): number {
  let total = 0;
  for (let d = 1; d <= order; d++) total += countMonomialsOfDegree(vars, d);
  return total;
}

/**
 * Every monomial of degree 1..order as a non-decreasing tuple of variable indices, in the
 * canonical order: by degree, then lexicographically (itertools.combinations_with_replacement).
 */
export function enumerateMonomials(vars: number, order: number): number[][] {
  const out: number[][] = [];
  const tuple: number[] = [];
  const extend = (start: number, degree: number) => {
    if (tuple.length === degree) {
      out.push(tuple.slice());
      return;
    }
    for (let i = start; i < vars; i++) {
      tuple.push(i);
      extend(i, degree);
      tuple.pop();
    }
  };
  for (let d = 1; d <= order; d++) extend(0, d);
  return out;
}

/**
 * The monomials of degree d+1 as (parent index among degree-d terms, new variable): each term
 * is its parent times one variable, which lets a batch build all terms with one multiply each.
 */
export function monomialRecurrence(
  vars: number,
  order: number,
): { parent: number; variable: number }[] {
  const terms = enumerateMonomials(vars, order);
  const index = new Map(terms.map((t, i) => [t.join(","), i]));
  return terms.map((t) => {
    if (t.length === 1) return { parent: -1, variable: t[0] };
    const parent = index.get(t.slice(0, -1).join(","));
    if (parent === undefined) throw new Error(`monomial ${t} has no parent`);
    return { parent, variable: t[t.length - 1] };
  });
}
