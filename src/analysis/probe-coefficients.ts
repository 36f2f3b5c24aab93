// Reads the linear and quadratic coefficients of a black-box polynomial (a served TaylorNet) at the
// origin by central finite differences on probe inputs: pure arithmetic around an `evaluate` callback.

/** Evaluates `n` row-major inputs of `vars` values each; returns n × outputs values. */
export type EvaluateFn = (batch: Float32Array, n: number) => Promise<Float32Array>;

export interface ProbeOptions {
  /** The finite-difference step h; the error of each coefficient is O(h²) times higher-order terms. */
  step?: number;
  /** Also read the mixed x_i·x_j coefficients (4 probes per pair). */
  pairs?: boolean;
  /** Probes per evaluate call. */
  batch?: number;
}

export interface ProbedCoefficients {
  vars: number;
  outputs: number;
  step: number;
  probes: number;
  /** f(0) per output. */
  constant: Float64Array;
  /** [output][i]: coefficient of x_i (∂f/∂x_i at 0). */
  linear: Float64Array;
  /** [output][i]: coefficient of x_i² (½ ∂²f/∂x_i² at 0). */
  square: Float64Array;
  /** [output][i·vars + j], i ≠ j, symmetric: coefficient of x_i·x_j (∂²f/∂x_i∂x_j at 0); null unless asked. */
  pairs: Float64Array | null;
}

/** Probe count for `vars` inputs: f(0), ±h·e_i, and 4 per pair when pairs are read. */
export function probeCount(vars: number, pairs: boolean): number {
  return 1 + 2 * vars + (pairs ? 2 * vars * (vars - 1) : 0);
}

export async function probeCoefficients(
  evaluate: EvaluateFn,
  vars: number,
  outputs: number,
  options: ProbeOptions = {},
): Promise<ProbedCoefficients> {
  const h = options.step ?? 0.05;
  const withPairs = options.pairs ?? true;
  const chunk = options.batch ?? 512;
  const n = probeCount(vars, withPairs);
  // Probe p is a sparse input: at most two nonzero entries (index, value).
  const probes: [number, number, number, number][] = [[0, 0, 0, 0]];
  for (let i = 0; i < vars; i++) probes.push([i, h, 0, 0], [i, -h, 0, 0]);
  if (withPairs) {
    for (let i = 0; i < vars; i++) {
      for (let j = i + 1; j < vars; j++) {
        for (const [a, b] of [
          [h, h],
          [h, -h],
          [-h, h],
          [-h, -h],
        ]) {
          probes.push([i, a, j, b]);
        }
      }
    }
  }
  const out = new Float64Array(n * outputs);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const batch = new Float32Array(m * vars);
    for (let r = 0; r < m; r++) {
      const [i, a, j, b] = probes[start + r];
      batch[r * vars + i] += a;
      batch[r * vars + j] += b;
    }
    const y = await evaluate(batch, m);
    if (y.length !== m * outputs) {
      throw new Error(`evaluate returned ${y.length} values for ${m} probes × ${outputs} outputs`);
    }
    out.set(y, start * outputs);
  }
  const f = (probe: number, o: number) => out[probe * outputs + o];
  const constant = new Float64Array(outputs);
  const linear = new Float64Array(outputs * vars);
  const square = new Float64Array(outputs * vars);
  const pairs = withPairs ? new Float64Array(outputs * vars * vars) : null;
  for (let o = 0; o < outputs; o++) {
    const f0 = f(0, o);
    constant[o] = f0;
    for (let i = 0; i < vars; i++) {
      const plus = f(1 + 2 * i, o);
      const minus = f(2 + 2 * i, o);
      linear[o * vars + i] = (plus - minus) / (2 * h);
      square[o * vars + i] = (plus - 2 * f0 + minus) / (2 * h * h);
    }
    if (!pairs) continue;
    let p = 1 + 2 * vars;
    for (let i = 0; i < vars; i++) {
      for (let j = i + 1; j < vars; j++) {
        const q = (f(p, o) - f(p + 1, o) - f(p + 2, o) + f(p + 3, o)) / (4 * h * h);
        pairs[o * vars * vars + i * vars + j] = q;
        pairs[o * vars * vars + j * vars + i] = q;
        p += 4;
      }
    }
  }
  return { vars, outputs, step: h, probes: n, constant, linear, square, pairs };
}
