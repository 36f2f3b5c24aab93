// A naive float64 loop implementation of the CG operation (Eq. 4) with its exact gradients:
// the reference the tfjs CG op is tested against.
import { enumerateMonomials } from "../src/nn/monomials.js";
import { type CgLayer, windowGeometry } from "../src/nn/spec.js";
import { gaussian, rng } from "../src/util/random.js";

export interface NaiveResult {
  y: Float64Array;
  /** dL/dx and dL/dkernel for L = Σ y·r. */
  dx: Float64Array;
  dk: Float64Array;
  shape: [number, number, number, number];
}

export function randn(size: number, seed: number, scale = 1): Float32Array {
  const normal = gaussian(rng(seed));
  return Float32Array.from({ length: size }, () => normal() * scale);
}

/** x [N,H,W,C], kernel [T, C|1, F], bias [F], r [N,oh,ow,F] (the upstream gradient). */
export function naiveCg(
  x: ArrayLike<number>,
  [n, h, w, c]: number[],
  layer: CgLayer,
  kernel: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  r: ArrayLike<number> | undefined,
): NaiveResult {
  const {
    k,
    s,
    d,
    oh,
    ow,
    pads: [top, left],
  } = windowGeometry(layer, h, w);
  const f = layer.filters;
  const terms = enumerateMonomials(k * k, layer.order);
  const cin = layer.shared ? 1 : c;
  const y = new Float64Array(n * oh * ow * f);
  const dx = new Float64Array(n * h * w * c);
  const dk = new Float64Array(terms.length * cin * f);
  const v = new Float64Array(k * k);
  const where = new Int32Array(k * k);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const out = ((b * oh + oy) * ow + ox) * f;
        for (let o = 0; o < f; o++) y[out + o] = bias ? bias[o] : 0;
        for (let ch = 0; ch < c; ch++) {
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * s + ky * d - top;
              const ix = ox * s + kx * d - left;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              const at = ((b * h + iy) * w + ix) * c + ch;
              v[ky * k + kx] = inside ? x[at] : 0;
              where[ky * k + kx] = inside ? at : -1;
            }
          }
          const kc = layer.shared ? 0 : ch;
          terms.forEach((tuple, t) => {
            let value = 1;
            for (const j of tuple) value *= v[j];
            let upstream = 0;
            for (let o = 0; o < f; o++) {
              const wi = (t * cin + kc) * f + o;
              y[out + o] += kernel[wi] * value;
              if (r) {
                dk[wi] += r[out + o] * value;
                upstream += r[out + o] * kernel[wi];
              }
            }
            if (!r) return;
            tuple.forEach((j, p) => {
              if (where[j] < 0) return;
              let rest = 1;
              tuple.forEach((q, pq) => {
                if (pq !== p) rest *= v[q];
              });
              dx[where[j]] += upstream * rest;
            });
          });
        }
      }
    }
  }
  return { y, dx, dk, shape: [n, oh, ow, f] };
}

export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} vs ${expected.length}`);
  }
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}
