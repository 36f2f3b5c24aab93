// Where one training step of the direct Taylor model (Eq. 3) goes on onnxruntime: real 7×7
// MNIST batches through the trainer's own pieces (makeBatch, the ORT engine's compute, Adam in
// JS), timed by phase, with or without the denormal flush, and optionally onnxruntime's
// per-op-type profile of the step graph: JSON lines.
import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { take } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/load.js";
import { modelParams } from "../src/nn/spec.js";
import { taylorDirectSpec } from "../src/nn/taylor-direct.js";
import { initWeights } from "../src/nn/weights.js";
import { makeBatch } from "../src/train/batches.js";
import { Optimizer } from "../src/train/optimizer.js";
import { OrtGradients } from "../src/train/ort/engine.js";
import { epochOrder } from "../src/train/seeding.js";
import type { StepModel } from "../src/train/step.js";
import { runScript } from "../src/util/cli.js";
import { boolean, choice, int, number, readFlags } from "../src/util/flags.js";

const FLAGS = {
  order: int("the highest degree of the monomials", { default: 4, min: 1, max: 4 }),
  batch: int("batch size", { default: 128, min: 1 }),
  steps: int("timed steps (after 2 warm-up steps)", { default: 20, min: 1 }),
  threads: int("onnxruntime intra-op threads", { default: 1, min: 1 }),
  lr: number("Adam learning rate", { default: 0.001, min: 0 }),
  // One value per process: onnxruntime sets the main thread's denormal mode once, from the
  // first session the process creates.
  flush: choice(["on", "off"], "flush denormals to zero", { default: "on" }),
  profile: boolean("also profile the graph with onnxruntime (time per op type)"),
};

const SCRIPT = {
  usage: "tsx bench/taylor-direct-step.ts [--order 4] [--steps 20] [--flush on|off] [--profile]",
  summary:
    "One direct-Taylor training step on onnxruntime, by phase: batch, session (ORT run and copies), Adam; --profile adds the graph's time per op type.",
};

interface OpTime {
  op: string;
  msPerStep: number;
  nodes: number;
}

/** Sums onnxruntime's profile (the newest file starting with `prefix`) by op type per step. */
async function opTimes(prefix: string, steps: number): Promise<{ runMs: number; ops: OpTime[] }> {
  const dir = join(prefix, "..");
  const base = prefix.slice(dir.length + 1);
  const file = (await readdir(dir))
    .filter((f) => f.startsWith(base))
    .sort()
    .at(-1);
  if (!file) throw new Error(`no onnxruntime profile under ${prefix}*`);
  const events = JSON.parse(await readFile(join(dir, file), "utf8")) as {
    cat: string;
    name: string;
    dur: number;
    args?: { op_name?: string };
  }[];
  await rm(join(dir, file));
  const byOp = new Map<string, { us: number; nodes: Set<string> }>();
  let runUs = 0;
  for (const e of events) {
    if (e.cat === "Session" && e.name === "model_run") runUs += e.dur;
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    const entry = byOp.get(op) ?? { us: 0, nodes: new Set<string>() };
    entry.us += e.dur;
    entry.nodes.add(e.name);
    byOp.set(op, entry);
  }
  const ops = [...byOp.entries()]
    .sort((a, b) => b[1].us - a[1].us)
    .map(([op, e]) => ({ op, msPerStep: +(e.us / 1000 / steps).toFixed(2), nodes: e.nodes.size }));
  return { runMs: +(runUs / 1000 / steps).toFixed(1), ops };
}

runScript("bench/taylor-direct-step", async () => {
  const f = readFlags(SCRIPT, FLAGS);
  const { order, batch, steps, threads } = f;
  const spec = taylorDirectSpec(order);
  const total = (steps + 2) * batch;
  const data = take(await loadDataset("mnist7", "train", { resize: "area" }), total);
  const trainable = modelParams(spec)
    .filter((p) => p.trainable)
    .map((p) => p.name);
  const model: StepModel = { spec, classes: 10, trainable };
  const source = { data, input: spec.input, batchSize: batch, seed: 0 };
  const order0 = epochOrder(data.count, 0, 0);

  /** Runs warm-up + timed steps; returns the per-phase means of the timed ones. */
  const measure = async (flush: boolean, profilePrefix?: string) => {
    const weights = initWeights(spec, 0);
    const refs = trainable.map((name) => ({
      name,
      data: weights[name].data,
      rank: weights[name].shape.length,
    }));
    const optimizer = new Optimizer({ kind: "adam", momentum: 0, weightDecay: 0 });
    const engine = await OrtGradients.create(model, {
      threads,
      flushDenormals: flush,
      profilePrefix,
    });
    const sums = { batch: 0, session: 0, adam: 0 };
    const stepMs: number[] = [];
    let loss = 0;
    try {
      for (let step = 0; step < steps + 2; step++) {
        const t0 = performance.now();
        const b = makeBatch(source, order0, 0, step);
        const t1 = performance.now();
        const result = await engine.compute(weights, b);
        const t2 = performance.now();
        optimizer.apply(refs, result.grads, f.lr);
        const t3 = performance.now();
        loss = result.loss;
        if (step < 2) continue;
        sums.batch += t1 - t0;
        sums.session += t2 - t1;
        sums.adam += t3 - t2;
        stepMs.push(t3 - t0);
      }
      if (profilePrefix) engine.endProfiling();
    } finally {
      await engine.close();
    }
    const per = (ms: number) => +(ms / steps).toFixed(1);
    return {
      batchMs: per(sums.batch),
      sessionMs: per(sums.session),
      adamMs: per(sums.adam),
      stepMs: per(sums.batch + sums.session + sums.adam),
      firstTimedStepMs: +stepMs[0].toFixed(1),
      lastTimedStepMs: +(stepMs.at(-1) ?? 0).toFixed(1),
      imagesPerSec: +((batch * steps * 1000) / (sums.batch + sums.session + sums.adam)).toFixed(1),
      lastLoss: +loss.toFixed(4),
    };
  };

  const { flush } = f;
  const phases = await measure(flush === "on");
  const line = { bench: "taylor-direct-step", order, batch, threads, steps, flush, ...phases };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  if (f.profile) {
    const prefix = join(tmpdir(), `cgnn-taylor-profile-${process.pid}`);
    await measure(flush === "on", prefix);
    // The profile also covers the 2 warm-up steps; onnxruntime's own overhead is not in it.
    const { runMs, ops } = await opTimes(prefix, steps + 2);
    const nodesMs = +ops.reduce((s, o) => s + o.msPerStep, 0).toFixed(1);
    const line = {
      bench: "taylor-direct-step-profile",
      order,
      batch,
      threads,
      runMs,
      nodesMs,
      ops,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
});
