// A model's named float32 weights: seeded initialisation from a spec's parameters, and the
// check that weights match a spec (the file format is util/safetensors.ts).
import { gaussian, rng } from "../util/random.js";
import type { NamedTensor, NamedTensors } from "../util/safetensors.js";
import { type ModelSpec, modelParams, type ParamInfo } from "./spec.js";

export type WeightTensor = NamedTensor;
export type Weights = NamedTensors;

/** One parameter's initial values, drawn from `normal` / `random` by its initialiser. */
export function initParam(
  info: ParamInfo,
  normal: () => number,
  random: () => number,
): Float32Array {
  const data = new Float32Array(info.shape.reduce((a, b) => a * b, 1));
  fillParam(info, normal, random, data);
  return data;
}

/** initParam's draws written into `data` (the parameter's size), overwriting what it held. */
export function fillParam(
  info: ParamInfo,
  normal: () => number,
  random: () => number,
  data: Float32Array,
): void {
  const size = data.length;
  switch (info.init) {
    case "zeros":
      data.fill(0);
      break;
    case "ones":
      data.fill(1);
      break;
    case "heNormal":
    case "cgNormal": {
      // A polynomial layer has no nonlinearity to halve the variance: use 1/fanIn.
      const std = Math.sqrt((info.init === "heNormal" ? 2 : 1) / info.fanIn);
      for (let i = 0; i < size; i++) data[i] = normal() * std;
      break;
    }
    case "glorotUniform": {
      const fanOut = info.shape.at(-1) ?? 1;
      const limit = Math.sqrt(6 / (info.fanIn + fanOut));
      for (let i = 0; i < size; i++) data[i] = (random() * 2 - 1) * limit;
      break;
    }
  }
}

export function initWeights(spec: ModelSpec, seed: number): Weights {
  const weights: Weights = {};
  const params = modelParams(spec);
  const data = params.map((info) => new Float32Array(info.shape.reduce((a, b) => a * b, 1)));
  initWeightsInto(params, seed, data);
  params.forEach((info, k) => {
    weights[info.name] = { shape: info.shape, data: data[k] };
  });
  return weights;
}

/**
 * initWeights(spec, seed)'s numbers, bit for bit, drawn into `into[k]` for `params[k]` (the
 * spec's modelParams, in order): a loop that draws a fresh network each step (distillation)
 * reuses its arrays instead of allocating and copying them.
 */
export function initWeightsInto(params: ParamInfo[], seed: number, into: Float32Array[]): void {
  if (into.length !== params.length) {
    throw new Error(`initWeightsInto: ${into.length} arrays for ${params.length} parameters`);
  }
  const random = rng(seed);
  const normal = gaussian(random);
  params.forEach((info, k) => {
    const size = info.shape.reduce((a, b) => a * b, 1);
    if (into[k].length !== size) {
      throw new Error(`initWeightsInto: ${info.name} needs ${size} values, got ${into[k].length}`);
    }
    fillParam(info, normal, random, into[k]);
  });
}

/** Checks that weights hold exactly the spec's parameters with the right shapes. */
export function checkWeights(spec: ModelSpec, weights: Weights): void {
  const expected = modelParams(spec);
  for (const info of expected) {
    const w = weights[info.name];
    if (!w) throw new Error(`${spec.name}: missing weight ${info.name}`);
    if (w.shape.join() !== info.shape.join()) {
      throw new Error(
        `${spec.name}: weight ${info.name} is [${w.shape}], expected [${info.shape}]`,
      );
    }
  }
  const names = new Set(expected.map((p) => p.name));
  const extra = Object.keys(weights).filter((n) => !names.has(n));
  if (extra.length) throw new Error(`${spec.name}: unexpected weights ${extra.join(", ")}`);
}
