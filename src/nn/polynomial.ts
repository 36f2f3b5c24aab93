// Sparse multivariate polynomials, and the symbolic forward pass that expands a small activation-
// free network (CG, conv, batch norm, dense) into its explicit monomials: a TaylorNet is a polynomial.
import { enumerateMonomials } from "./monomials.js";
import { type LayerSpec, type ModelSpec, windowGeometry } from "./spec.js";
import type { Weights } from "./weights.js";

/** Σ coefficient · Π x_i^e_i over `vars` variables; keys are exponent vectors joined by ",". */
export class Polynomial {
  readonly terms = new Map<string, number>();
  constructor(readonly vars: number) {}

  static constant(vars: number, value: number): Polynomial {
    const p = new Polynomial(vars);
    if (value !== 0) p.terms.set(new Array(vars).fill(0).join(","), value);
    return p;
  }

  static variable(vars: number, index: number, coefficient = 1): Polynomial {
    const e = new Array(vars).fill(0);
    e[index] = 1;
    const p = new Polynomial(vars);
    p.terms.set(e.join(","), coefficient);
    return p;
  }

  private addTerm(key: string, value: number): void {
    const next = (this.terms.get(key) ?? 0) + value;
    if (next === 0) this.terms.delete(key);
    else this.terms.set(key, next);
  }

  add(other: Polynomial): Polynomial {
    const out = this.clone();
    for (const [k, v] of other.terms) out.addTerm(k, v);
    return out;
  }

  /** this += other · factor, in place (the hot loop of the symbolic forward pass). */
  addScaled(other: Polynomial, factor: number): this {
    if (factor === 0) return this;
    for (const [k, v] of other.terms) this.addTerm(k, v * factor);
    return this;
  }

  scale(factor: number): Polynomial {
    return new Polynomial(this.vars).addScaled(this, factor);
  }

  mul(other: Polynomial): Polynomial {
    const out = new Polynomial(this.vars);
    for (const [ka, va] of this.terms) {
      const ea = ka.split(",").map(Number);
      for (const [kb, vb] of other.terms) {
        const eb = kb.split(",");
        out.addTerm(ea.map((e, i) => e + Number(eb[i])).join(","), va * vb);
      }
    }
    return out;
  }

  pow(power: number): Polynomial {
    let out = Polynomial.constant(this.vars, 1);
    for (let i = 0; i < power; i++) out = out.mul(this);
    return out;
  }

  /** Substitutes polynomial `subs[i]` (all over the same variables) for variable i. */
  compose(subs: Polynomial[]): Polynomial {
    if (subs.length !== this.vars) throw new Error(`compose needs ${this.vars} polynomials`);
    const target = subs[0]?.vars ?? 0;
    const out = new Polynomial(target);
    for (const [k, v] of this.terms) {
      let term = Polynomial.constant(target, v);
      k.split(",").forEach((e, i) => {
        if (e !== "0") term = term.mul(subs[i].pow(Number(e)));
      });
      out.addScaled(term, 1);
    }
    return out;
  }

  clone(): Polynomial {
    const out = new Polynomial(this.vars);
    for (const [k, v] of this.terms) out.terms.set(k, v);
    return out;
  }

  evaluate(x: ArrayLike<number>): number {
    let sum = 0;
    for (const [k, v] of this.terms) {
      let term = v;
      k.split(",").forEach((e, i) => {
        if (e !== "0") term *= x[i] ** Number(e);
      });
      sum += term;
    }
    return sum;
  }

  degree(): number {
    let max = 0;
    for (const k of this.terms.keys())
      max = Math.max(
        max,
        k.split(",").reduce((a, e) => a + Number(e), 0),
      );
    return max;
  }

  /** Terms as {exponents, coefficient}, largest |coefficient| first. */
  sortedTerms(): { exponents: number[]; coefficient: number }[] {
    return [...this.terms]
      .map(([k, coefficient]) => ({ exponents: k.split(",").map(Number), coefficient }))
      .sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient));
  }

  /** "c · x1^2·x3 + …" with variable names, at most `limit` terms, largest first. */
  format(names: string[], limit = Number.POSITIVE_INFINITY, digits = 4): string {
    const parts = this.sortedTerms()
      .slice(0, limit)
      .map(({ exponents, coefficient }) => {
        const factors = exponents.flatMap((e, i) =>
          e === 0 ? [] : [e === 1 ? names[i] : `${names[i]}^${e}`],
        );
        return `${coefficient.toFixed(digits)}${factors.length ? `·${factors.join("·")}` : ""}`;
      });
    return parts.join(" + ").replaceAll("+ -", "- ") || "0";
  }
}

/** One CG cluster map (Eq. 4): c0 + Σ_t c_t·term_t over the given polynomials, canonical order. */
export function cgCluster(
  inputs: Polynomial[],
  coefficients: number[],
  constant: number,
  order: number,
): Polynomial {
  const vars = inputs[0].vars;
  const out = Polynomial.constant(vars, constant);
  const terms = enumerateMonomials(inputs.length, order);
  if (coefficients.length !== terms.length) {
    throw new Error(`cgCluster: ${terms.length} coefficients needed, got ${coefficients.length}`);
  }
  terms.forEach((tuple, t) => {
    if (coefficients[t] === 0) return;
    let p = inputs[tuple[0]];
    for (let j = 1; j < tuple.length; j++) p = p.mul(inputs[tuple[j]]);
    out.addScaled(p, coefficients[t]);
  });
  return out;
}

interface Activation {
  shape: number[];
  values: Polynomial[];
}

function weight(weights: Weights, name: string): Float32Array {
  const w = weights[name];
  if (!w) throw new Error(`expand: missing weight ${name}`);
  return w.data;
}

function windowed(
  act: Activation,
  layer: Extract<LayerSpec, { kind: "conv2d" | "cg" }>,
  vars: number,
  visit: (oy: number, ox: number, taps: Polynomial[][]) => Polynomial[],
): Activation {
  const [h, w, c] = act.shape;
  const {
    k,
    s,
    d,
    oh,
    ow,
    pads: [top, left],
  } = windowGeometry(layer, h, w);
  const zero = new Polynomial(vars);
  const values: Polynomial[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      // taps[channel][ky·k + kx]
      const taps: Polynomial[][] = [];
      for (let ch = 0; ch < c; ch++) {
        const row: Polynomial[] = [];
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const iy = oy * s + ky * d - top;
            const ix = ox * s + kx * d - left;
            const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            row.push(inside ? act.values[(iy * w + ix) * c + ch] : zero);
          }
        }
        taps.push(row);
      }
      values.push(...visit(oy, ox, taps));
    }
  }
  return { shape: [oh, ow, layer.filters], values };
}

function expandLayer(
  layer: LayerSpec,
  act: Activation,
  weights: Weights,
  path: string,
  vars: number,
): Activation {
  const channels = act.shape.at(-1) ?? 1;
  switch (layer.kind) {
    case "normalize":
      return {
        shape: act.shape,
        values: act.values.map((p, i) => {
          const ch = i % channels;
          return p
            .scale(1 / layer.std[ch])
            .add(Polynomial.constant(vars, -layer.mean[ch] / layer.std[ch]));
        }),
      };
    case "batchNorm": {
      const eps = layer.epsilon ?? 1e-5;
      const [gamma, beta, mean, variance] = ["gamma", "beta", "movingMean", "movingVariance"].map(
        (n) => weight(weights, `${path}.${n}`),
      );
      return {
        shape: act.shape,
        values: act.values.map((p, i) => {
          const ch = i % channels;
          const a = gamma[ch] / Math.sqrt(variance[ch] + eps);
          return p.scale(a).add(Polynomial.constant(vars, beta[ch] - a * mean[ch]));
        }),
      };
    }
    case "flatten":
      return { shape: [act.values.length], values: act.values };
    case "dense": {
      const kernel = weight(weights, `${path}.kernel`);
      const bias = (layer.bias ?? true) ? weight(weights, `${path}.bias`) : undefined;
      const values: Polynomial[] = [];
      for (let u = 0; u < layer.units; u++) {
        const out = Polynomial.constant(vars, bias ? bias[u] : 0);
        act.values.forEach((p, i) => {
          out.addScaled(p, kernel[i * layer.units + u]);
        });
        values.push(out);
      }
      return { shape: [layer.units], values };
    }
    case "conv2d": {
      const kernel = weight(weights, `${path}.kernel`);
      const bias = (layer.bias ?? true) ? weight(weights, `${path}.bias`) : undefined;
      const f = layer.filters;
      return windowed(act, layer, vars, (_oy, _ox, taps) =>
        Array.from({ length: f }, (_, o) => {
          const out = Polynomial.constant(vars, bias ? bias[o] : 0);
          taps.forEach((row, ch) => {
            row.forEach((p, tap) => {
              out.addScaled(p, kernel[(tap * channels + ch) * f + o]);
            });
          });
          return out;
        }),
      );
    }
    case "cg": {
      const kernel = weight(weights, `${path}.kernel`);
      const bias = (layer.bias ?? true) ? weight(weights, `${path}.bias`) : undefined;
      const f = layer.filters;
      const cin = layer.shared ? 1 : channels;
      const tuples = enumerateMonomials(layer.kernel * layer.kernel, layer.order);
      return windowed(act, layer, vars, (_oy, _ox, taps) => {
        const outs = Array.from({ length: f }, (_, o) =>
          Polynomial.constant(vars, bias ? bias[o] : 0),
        );
        taps.forEach((row, ch) => {
          const products: Polynomial[] = [];
          tuples.forEach((tuple, t) => {
            // Canonical order: a degree-(g+1) tuple's prefix appeared earlier; reuse products.
            products.push(
              tuple.length === 1
                ? row[tuple[0]]
                : products[parentIndex(tuples, t)].mul(row[tuple.at(-1)!]),
            );
            const kc = layer.shared ? 0 : ch;
            for (let o = 0; o < f; o++)
              outs[o].addScaled(products[t], kernel[(t * cin + kc) * f + o]);
          });
        });
        return outs;
      });
    }
    default:
      throw new Error(
        `expand: layer kind ${layer.kind} is not a polynomial map this module expands`,
      );
  }
}

const parentCache = new WeakMap<number[][], Map<string, number>>();

function parentIndex(tuples: number[][], t: number): number {
  let index = parentCache.get(tuples);
  if (!index) {
    index = new Map(tuples.map((tuple, i) => [tuple.join(","), i]));
    parentCache.set(tuples, index);
  }
  const parent = index.get(tuples[t].slice(0, -1).join(","));
  if (parent === undefined) throw new Error("monomial without parent");
  return parent;
}

/**
 * Expands an activation-free network (normalize, conv2d, cg, batchNorm at inference, flatten,
 * dense) into one explicit polynomial per output, over the H·W·C input pixels in NHWC order.
 * Exponential in depth and size: meant for tiny networks such as Fig. 4(c).
 */
export function expandCgNetwork(spec: ModelSpec, weights: Weights): Polynomial[] {
  const vars = spec.input.reduce((a, b) => a * b, 1);
  let act: Activation = {
    shape: spec.input,
    values: Array.from({ length: vars }, (_, i) => Polynomial.variable(vars, i)),
  };
  spec.layers.forEach((layer, i) => {
    act = expandLayer(layer, act, weights, `${i}`, vars);
  });
  return act.values;
}
