// Fig. 3: the learned quadratic Taylor coefficients w_ij of the direct expansion against the
// pixel distance d_ij, split into five levels (L1 smallest … L5 largest) by value.

export interface QuadraticWeight {
  i: number;
  j: number;
  distance: number;
  /** ‖W[x_i·x_j, :]‖₂: the Euclidean norm of the term's coefficients over the classes. */
  weight: number;
  /** 1..5: quintile of `weight` over all pairs (L1 the smallest fifth). */
  level: number;
}

export interface DistanceRow {
  distance: number;
  count: number;
  meanWeight: number;
  /** Pairs at this distance in each level (index 0 = L1). */
  levels: number[];
}

export const LEVELS = 5;

/**
 * The quadratic terms of a direct-expansion dense kernel [T, classes] whose rows follow the
 * canonical monomial order (the vars linear terms, then (i ≤ j) pairs lexicographically).
 */
export function quadraticWeights(
  kernel: Float32Array,
  classes: number,
  height: number,
  width: number,
): QuadraticWeight[] {
  const vars = height * width;
  const pairs = (vars * (vars + 1)) / 2;
  if (kernel.length < (vars + pairs) * classes) {
    throw new Error(
      `the kernel has no quadratic block: ${kernel.length / classes} terms for ${vars} variables`,
    );
  }
  const out: QuadraticWeight[] = [];
  let t = vars;
  for (let i = 0; i < vars; i++) {
    for (let j = i; j < vars; j++, t++) {
      let sq = 0;
      for (let c = 0; c < classes; c++) sq += kernel[t * classes + c] ** 2;
      const dy = Math.floor(i / width) - Math.floor(j / width);
      const dx = (i % width) - (j % width);
      out.push({ i, j, distance: Math.hypot(dy, dx), weight: Math.sqrt(sq), level: 0 });
    }
  }
  const order = out.map((_, k) => k).sort((a, b) => out[a].weight - out[b].weight);
  order.forEach((k, rank) => {
    out[k].level = 1 + Math.floor((rank * LEVELS) / out.length);
  });
  return out;
}

/** Fig. 3(a)/(b) data: per distance, the pair count, mean weight and count in each level. */
export function byDistance(weights: QuadraticWeight[]): DistanceRow[] {
  const rows = new Map<string, DistanceRow>();
  for (const w of weights) {
    const key = w.distance.toFixed(4);
    let row = rows.get(key);
    if (!row) {
      row = { distance: w.distance, count: 0, meanWeight: 0, levels: new Array(LEVELS).fill(0) };
      rows.set(key, row);
    }
    row.count++;
    row.meanWeight += w.weight;
    row.levels[w.level - 1]++;
  }
  const list = [...rows.values()].sort((a, b) => a.distance - b.distance);
  for (const row of list) row.meanWeight /= row.count;
  return list;
}

export function weightsCsv(weights: QuadraticWeight[], width: number): string {
  const lines = ["i,j,row_i,col_i,row_j,col_j,distance,weight,level"];
  for (const w of weights) {
    lines.push(
      [
        w.i,
        w.j,
        Math.floor(w.i / width),
        w.i % width,
        Math.floor(w.j / width),
        w.j % width,
        w.distance.toFixed(6),
        w.weight.toExponential(6),
        w.level,
      ].join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

export function distanceCsv(rows: DistanceRow[]): string {
  const lines = [
    `distance,count,mean_weight,${Array.from({ length: LEVELS }, (_, l) => `L${l + 1}`).join(",")}`,
  ];
  for (const r of rows)
    lines.push(
      [r.distance.toFixed(6), r.count, r.meanWeight.toExponential(6), ...r.levels].join(","),
    );
  return `${lines.join("\n")}\n`;
}
