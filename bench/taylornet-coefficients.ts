// What /taylornet/coefficients costs and how exact it is: the served TaylorNet's coefficients read by
// central differences at step h, h/2 and 2h (the O(h²) error shows as the change), as JSON lines.
import { performance } from "node:perf_hooks";
import { probeCoefficients } from "../src/analysis/probe-coefficients.js";
import { createInferenceEngine } from "../src/inference/inference.js";
import { readManifest } from "../src/models/manifest.js";
import { number, readFlagsOrExit, string } from "../src/util/flags.js";

const values = readFlagsOrExit(
  "bench/taylornet-coefficients",
  {
    usage: "tsx bench/taylornet-coefficients.ts [--models-dir models] [--model NAME] [--step 0.05]",
    summary:
      "The served TaylorNet's coefficients by probing, at step h, h/2 and 2h: time and truncation error (JSON lines).",
  },
  {
    "models-dir": string("the models folder", { default: "models", arg: "DIR" }),
    model: string("the classifier's name in the manifest", { default: "taylornet-mnist7" }),
    step: number("finite-difference step h", { default: 0.05, above: 0 }),
  },
);

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function main() {
  const dir = values["models-dir"];
  const name = values.model;
  const entry = (await readManifest(dir)).models[name];
  if (!entry) throw new Error(`${dir}/manifest.json has no model ${name}`);
  const engine = await createInferenceEngine(`${dir}/${entry.file}`, {
    engine: "microbatch",
    workers: 1,
    intraOpNumThreads: 1,
    output: entry.output.name,
    warmUp: true,
  });
  const [h, w, c] = engine.inputShape;
  const run = (batch: Float32Array, n: number) => engine.run(batch, n);
  const { step } = values;
  const read = async (s: number) => {
    const started = performance.now();
    const result = await probeCoefficients(run, h * w * c, engine.outputDim, { step: s });
    return { result, seconds: (performance.now() - started) / 1000 };
  };
  const base = await read(step);
  process.stdout.write(
    `${JSON.stringify({ bench: "taylornet-coefficients", model: name, step, probes: base.result.probes, seconds: base.seconds })}\n`,
  );
  for (const other of [step / 2, step * 2]) {
    const { result } = await read(other);
    process.stdout.write(
      `${JSON.stringify({
        bench: "taylornet-coefficients-step",
        model: name,
        step,
        against: other,
        linear: {
          maxAbs: maxAbs(base.result.linear),
          maxChange: maxDiff(base.result.linear, result.linear),
        },
        square: {
          maxAbs: maxAbs(base.result.square),
          maxChange: maxDiff(base.result.square, result.square),
        },
        pairs: {
          maxAbs: maxAbs(base.result.pairs!),
          maxChange: maxDiff(base.result.pairs!, result.pairs!),
        },
      })}\n`,
    );
  }
  await engine.close();
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
