// What the training tests share: a tiny 7×7 data set a TaylorNet learns in a few epochs, and the
// resume check (one run trained whole, the same run stopped after its first epoch and resumed).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dataset } from "../src/data/dataset.js";
import type { TrainConfig, TrainResult } from "../src/train/train-config.js";
import { train } from "../src/train/trainer.js";
import { rng } from "../src/util/random.js";

/** 7×7 images whose class k lights pixel k·4 (plus noise). */
export function litPixels(count: number, seed: number): Dataset {
  const random = rng(seed);
  const images = Float32Array.from({ length: count * 49 }, () => 0.3 * random());
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  labels.forEach((label, n) => {
    images[n * 49 + label * 4] = 1;
  });
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  return { name: "lit", images, labels, count, height: 7, width: 7, channels: 1, classes };
}

/** `config` trained whole, then again stopped after epoch 1 and resumed (in a temporary folder). */
export async function wholeAndResumed(
  config: TrainConfig,
): Promise<{ whole: TrainResult; resumed: TrainResult }> {
  const dir = mkdtempSync(join(tmpdir(), "cgnn-resume-"));
  try {
    const whole = await train(config);
    const stop = new AbortController();
    await train({ ...config, outDir: dir, signal: stop.signal, onEpoch: () => stop.abort() });
    const resumed = await train({ ...config, outDir: dir, resume: true });
    return { whole, resumed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every tensor of `b` equals `a`'s bit for bit (named by `prefix` and its key). */
export function assertSameTensors(
  a: Record<string, { data: ArrayLike<number> }>,
  b: Record<string, { data: ArrayLike<number> }>,
  prefix = "",
): void {
  for (const [name, w] of Object.entries(a)) {
    assert.deepEqual(b[name].data, w.data, `${prefix}${name}`);
  }
}
