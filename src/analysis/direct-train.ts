// A dedicated trainer for the direct Taylor model (Eq. 3): the monomials of each batch are
// built in typed arrays outside autograd and only the dense layer learns, with the gradient
// dW = (dyᵀ·F)ᵀ as one plain matmul (no transpose of the 293k-wide feature batch). Same Adam
// and cosine schedule as src/train; the checkpoint is the engine's format.
import { dirname } from "node:path";
import type { Dataset } from "../data/dataset.js";
import type { Normalization } from "../data/normalize.js";
import { countMonomials } from "../nn/monomials.js";
import type { ModelSpec } from "../nn/spec.js";
import { monomialFeaturesArray } from "../nn/taylor-direct.js";
import * as tf from "../nn/tf.js";
import { initWeights, type Weights } from "../nn/weights.js";
import { saveCheckpoint } from "../train/checkpoint.js";
import { writeCurves } from "../train/curves.js";
import { Optimizer, scheduledLr } from "../train/optimizer.js";
import { epochOrder } from "../train/seeding.js";

export interface DirectTrainOptions {
  spec: ModelSpec;
  order: number;
  norm: Normalization;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  checkpointPath?: string;
  extra?: Record<string, unknown>;
  log?: (line: string) => void;
}

export interface DirectEpoch {
  epoch: number;
  loss: number;
  accuracy: number;
  /** The learning rate of the epoch's last step. */
  lr: number;
  seconds: number;
  imagesPerSec: number;
}

/** Trains `${dense}.kernel` [T, classes] and `${dense}.bias` of a normalize→flatten→monomials→dense spec. */
export async function trainDirect(
  data: Dataset,
  o: DirectTrainOptions,
): Promise<{ weights: Weights; history: DirectEpoch[] }> {
  const vars = data.height * data.width * data.channels;
  const classes = data.classes.length;
  const terms = countMonomials(vars, o.order);
  const weights = initWeights(o.spec, o.seed);
  const kernel = weights["3.kernel"];
  const bias = weights["3.bias"];
  if (!kernel || kernel.shape[0] !== terms || kernel.shape[1] !== classes) {
    throw new Error(
      `trainDirect: ${o.spec.name} is not monomials(${o.order}) → dense(${classes}) on ${vars} inputs`,
    );
  }
  const optimizer = new Optimizer({ kind: "adam", momentum: 0.9, weightDecay: 0 });
  const refs = [
    { name: "3.kernel", data: kernel.data, rank: 2 },
    { name: "3.bias", data: bias.data, rank: 1 },
  ];
  const steps = Math.ceil(data.count / o.batchSize);
  const x = new Float32Array(o.batchSize * vars);
  const features = new Float32Array(o.batchSize * terms);
  const history: DirectEpoch[] = [];
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = epochOrder(data.count, o.seed, epoch);
    const started = performance.now();
    let lossSum = 0;
    let correct = 0;
    let lr = o.lr;
    for (let step = 0; step < steps; step++) {
      const idx = order.subarray(
        step * o.batchSize,
        Math.min(data.count, (step + 1) * o.batchSize),
      );
      const n = idx.length;
      const labels = new Int32Array(n);
      for (let b = 0; b < n; b++) {
        labels[b] = data.labels[idx[b]];
        for (let v = 0; v < vars; v++) {
          const c = v % data.channels;
          x[b * vars + v] = (data.images[idx[b] * vars + v] - o.norm.mean[c]) / o.norm.std[c];
        }
      }
      monomialFeaturesArray(x, n, vars, o.order, features);
      const [dW, db, stats] = tf.tidy(() => {
        const f = tf.tensor2d(features.subarray(0, n * terms), [n, terms]);
        const logits = tf.add(
          tf.matMul(f, tf.tensor2d(kernel.data, [terms, classes])),
          tf.tensor1d(bias.data),
        );
        const onehot = tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), classes), "float32");
        const logp = tf.logSoftmax(logits);
        const dy = tf.div(tf.sub(tf.exp(logp), onehot), n);
        const loss = tf.neg(tf.sum(tf.mul(logp, onehot)));
        const hits = tf.sum(
          tf.cast(tf.equal(tf.argMax(logits, 1), tf.tensor1d(labels, "int32")), "float32"),
        );
        return [
          tf.transpose(tf.matMul(tf.transpose(dy), f)),
          tf.sum(dy, 0),
          tf.stack([loss, hits]),
        ];
      });
      const [loss, hits] = stats.dataSync();
      const grads = {
        "3.kernel": dW.dataSync() as Float32Array,
        "3.bias": db.dataSync() as Float32Array,
      };
      tf.dispose([dW, db, stats]);
      if (!Number.isFinite(loss))
        throw new Error(`loss became ${loss} at epoch ${epoch + 1}; lower --lr`);
      lr = scheduledLr("cosine", o.lr, epoch * steps + step, o.epochs * steps);
      optimizer.apply(refs, grads, lr);
      lossSum += loss;
      correct += hits;
      if (o.log && (step + 1) % Math.max(1, Math.floor(steps / 10)) === 0) {
        const seen = Math.min(data.count, (step + 1) * o.batchSize);
        const rate = seen / ((performance.now() - started) / 1000);
        o.log(
          `epoch ${epoch + 1}/${o.epochs} ${seen}/${data.count} loss ${(lossSum / seen).toFixed(4)} acc ${((100 * correct) / seen).toFixed(2)}% ${rate.toFixed(0)} img/s ETA ${((data.count - seen) / rate).toFixed(0)} s`,
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    history.push({
      epoch: epoch + 1,
      loss: lossSum / data.count,
      accuracy: correct / data.count,
      lr,
      seconds,
      imagesPerSec: data.count / seconds,
    });
    if (o.checkpointPath) {
      await saveCheckpoint(o.checkpointPath, {
        spec: o.spec,
        weights,
        headWeights: {},
        optimizer: optimizer.state(),
        epoch: epoch + 1,
        config: {
          trainer: "src/analysis/direct-train.ts",
          epochs: o.epochs,
          batchSize: o.batchSize,
          lr: o.lr,
          optimizer: "adam",
          schedule: "cosine",
          seed: o.seed,
          ...(o.extra ?? {}),
        },
        metrics: history,
        rng: {
          seed: o.seed,
          scheme: "mulberry32; order: Fisher-Yates(seed, epoch) as src/train/trainer.ts",
        },
      });
      await writeCurves(dirname(o.checkpointPath), history, o.spec.name);
    }
  }
  return { weights, history };
}
