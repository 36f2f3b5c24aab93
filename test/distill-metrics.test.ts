// The distillation's metrics log: JSON lines rewritten as subsets finish, a PNG of the curves
// at each level's end, and a resumed run that keeps the rows written before
// its checkpoint and replaces those it recomputes.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { curvesSvg } from "../src/distill/curves.js";
import { MetricsLog, metricsPaths } from "../src/distill/metrics.js";

const progress = (level: number, done: number, total: number, loss: number) => ({
  level,
  levels: 2,
  done,
  total,
  doneHere: done,
  seconds: done * 0.5,
  meanFirstLoss: loss + 10,
  meanLastLoss: loss,
});

test("metrics rows are written as subsets finish, with a curves PNG per level end", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cgnn-metrics-"));
  try {
    const paths = metricsPaths(join(dir, "refs.safetensors"));
    assert.deepEqual(paths, {
      jsonl: join(dir, "refs.metrics.jsonl"),
      png: join(dir, "refs.curves.png"),
    });
    const log = await MetricsLog.open(paths, false, 0);
    log.progress({ level: 1, levels: 2, done: 0, total: 3, doneHere: 0 });
    log.progress(progress(1, 1, 3, 50));
    log.progress(progress(1, 2, 3, -20));
    log.progress(progress(1, 3, 3, 40));
    log.progress(progress(2, 1, 1, 7));
    await log.close();
    const rows = (await readFile(paths.jsonl, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((r) => [r.level, r.done, r.total, r.meanLastLoss, r.meanFirstLoss, r.seconds]),
      [
        [1, 1, 3, 50, 60, 0.5],
        [1, 2, 3, -20, -10, 1],
        [1, 3, 3, 40, 50, 1.5],
        [2, 1, 1, 7, 17, 0.5],
      ],
    );
    const meta = await sharp(await readFile(paths.png)).metadata();
    assert.equal(meta.format, "png");
    assert.ok((meta.width ?? 0) > 400);
    const svg = curvesSvg(log.all);
    assert.match(svg, /level 1/);
    assert.match(svg, /level 2/);
    assert.match(svg, /-2\d\.\d/, "a negative loss sets the y range below 0");

    const resumed = await MetricsLog.open(paths, true, 0);
    assert.equal(resumed.all.length, 4);
    // Killed after subset 3 of level 1 but checkpointed after subset 1: the resumed run
    // recomputes subsets 2 and 3 (and level 2), whose rows replace the killed run's.
    resumed.progress(progress(1, 2, 3, -21));
    resumed.progress(progress(1, 3, 3, 41));
    assert.deepEqual(
      resumed.all.map((r) => [r.level, r.done, r.meanLastLoss]),
      [
        [1, 1, 50],
        [2, 1, 7],
        [1, 2, -21],
        [1, 3, 41],
      ],
    );
    resumed.progress(progress(2, 1, 1, 8));
    assert.deepEqual(
      resumed.all.map((r) => [r.level, r.done, r.meanLastLoss]),
      [
        [1, 1, 50],
        [1, 2, -21],
        [1, 3, 41],
        [2, 1, 8],
      ],
    );
    await resumed.close();
    const fresh = await MetricsLog.open(paths, false, 0);
    assert.equal(fresh.all.length, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
