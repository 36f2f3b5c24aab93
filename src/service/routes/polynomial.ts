// TaylorNet as a polynomial, for people: the explicit terms of a small CG network (expanded
// symbolically) and the served classifier's linear and pairwise coefficients read off by probing it.
import { readFile } from "node:fs/promises";
import { Router } from "express";
import { z } from "zod";
import { probeCoefficients, probeCount } from "../../analysis/probe-coefficients.js";
import { expandCgNetwork } from "../../nn/polynomial.js";
import type { ModelSpec } from "../../nn/spec.js";
import { checkWeights, type Weights } from "../../nn/weights.js";
import { notFound } from "../errors.js";
import type { LoadedModel, ServingSet } from "../serving-set.js";
import type { ServingState } from "../state.js";
import { withServingSet } from "./lease.js";
import { parseQuery } from "./query.js";

const TINY_NETWORK = new URL("../../web/data/tiny-cg-network.json", import.meta.url);
/** Pairs are read when they take at most this many probes (49 inputs: 4 803 probes). */
const MAX_PROBES = 20_000;
const STEP = 0.05;

const TinyNetworkSchema = z.object({
  spec: z.custom<ModelSpec>((v) => typeof v === "object" && v !== null && "layers" in v),
  weights: z.record(
    z.string(),
    z.object({ shape: z.array(z.number()), data: z.array(z.number()) }),
  ),
  provenance: z.record(z.string(), z.unknown()),
});

/** Pixel name in an H×W×C input: x{row}{col}, with a channel suffix for colour inputs. */
function variableNames([h, w, c]: number[]): string[] {
  return Array.from({ length: h * w * c }, (_, i) => {
    const pixel = Math.floor(i / c);
    const y = Math.floor(pixel / w);
    const x = pixel % w;
    return w > 10 || h > 10 ? `x${y}_${x}` : `x${y}${x}${c > 1 ? `c${i % c}` : ""}`;
  });
}

let tiny: ReturnType<typeof expandTiny> | undefined;

async function expandTiny() {
  const parsed = TinyNetworkSchema.parse(JSON.parse(await readFile(TINY_NETWORK, "utf8")));
  const weights: Weights = Object.fromEntries(
    Object.entries(parsed.weights).map(([k, w]) => [
      k,
      { shape: w.shape, data: Float32Array.from(w.data) },
    ]),
  );
  checkWeights(parsed.spec, weights);
  const names = variableNames(parsed.spec.input);
  const polys = expandCgNetwork(parsed.spec, weights);
  return { spec: parsed.spec, provenance: parsed.provenance, names, polys };
}

export const polynomialSchema = z.strictObject({
  top: z.coerce.number().int().min(1).max(500).default(20),
});

export const coefficientsSchema = z.strictObject({
  top: z.coerce.number().int().min(1).max(200).default(12),
});

type Probed = Awaited<ReturnType<typeof probe>>;
const probed = new WeakMap<ServingSet, Promise<Probed>>();

async function probe(classifier: LoadedModel) {
  const shape = classifier.engine.inputShape;
  const vars = shape[0] * shape[1] * shape[2];
  const pairs = probeCount(vars, true) <= MAX_PROBES;
  const started = performance.now();
  const c = await probeCoefficients(
    (batch, n) => classifier.run(batch, n),
    vars,
    classifier.engine.outputDim,
    { step: STEP, pairs },
  );
  return { c, shape, pairs, seconds: (performance.now() - started) / 1000 };
}

function coefficientsOf(set: ServingSet): { classifier: LoadedModel; result: Promise<Probed> } {
  const classifier = set.classifier;
  if (!classifier) throw notFound("no classifier model is loaded");
  let result = probed.get(set);
  if (!result) {
    result = probe(classifier);
    result.catch(() => probed.delete(set));
    probed.set(set, result);
  }
  return { classifier, result };
}

const row = (a: Float64Array, o: number, n: number) => Array.from(a.subarray(o * n, (o + 1) * n));

export function polynomialRouter(state: ServingState): Router {
  const router = Router();
  router.get("/taylornet/polynomial", async (req, res) => {
    const { top } = parseQuery(req, polynomialSchema);
    if (!tiny) {
      tiny = expandTiny();
      tiny.catch(() => {
        tiny = undefined;
      });
    }
    const { spec, provenance, names, polys } = await tiny;
    res.json({
      network: { name: spec.name, input: spec.input, layers: spec.layers, provenance },
      variables: names,
      outputs: polys.map((p, output) => ({
        output,
        degree: p.degree(),
        terms: p.terms.size,
        top: p
          .sortedTerms()
          .slice(0, top)
          .map((t) => ({
            coefficient: t.coefficient,
            exponents: t.exponents,
            monomial:
              t.exponents
                .flatMap((e, i) => (e === 0 ? [] : [e === 1 ? names[i] : `${names[i]}^${e}`]))
                .join("·") || "1",
          })),
      })),
    });
  });
  router.get(
    "/taylornet/coefficients",
    withServingSet(state, async (req, res, set) => {
      const { top } = parseQuery(req, coefficientsSchema);
      const { classifier, result } = coefficientsOf(set);
      const { c, shape, pairs, seconds } = await result;
      const labels = classifier.entry.labels;
      const n = c.vars;
      const names = variableNames(shape);
      res.json({
        model: { name: classifier.name, version: classifier.entry.version },
        labels,
        shape,
        variables: names,
        method: {
          kind: "central finite differences at the all-zero input",
          step: c.step,
          probes: c.probes,
          seconds,
        },
        classes: labels.map((label, o) => {
          const linear = row(c.linear, o, n);
          const square = row(c.square, o, n);
          if (!c.pairs || !pairs) {
            return {
              label,
              constant: c.constant[o],
              linear,
              square,
              pairStrength: null,
              topPairs: [],
            };
          }
          const q = c.pairs.subarray(o * n * n, (o + 1) * n * n);
          const pairStrength = Array.from({ length: n }, (_, i) => {
            let s = 0;
            for (let j = 0; j < n; j++) if (j !== i) s += Math.abs(q[i * n + j]);
            return s;
          });
          const all: { i: number; j: number; coefficient: number }[] = [];
          for (let i = 0; i < n; i++)
            for (let j = i + 1; j < n; j++) all.push({ i, j, coefficient: q[i * n + j] });
          all.sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient));
          const topPairs = all
            .slice(0, top)
            .map((p) => ({ ...p, monomial: `${names[p.i]}·${names[p.j]}` }));
          return { label, constant: c.constant[o], linear, square, pairStrength, topPairs };
        }),
        pairsOmitted: pairs
          ? null
          : `${n} inputs need ${probeCount(n, true)} probes for the pairs, more than ${MAX_PROBES}`,
      });
    }),
  );
  return router;
}
