// The producers of progress events (--progress json): training counts images over all epochs
// from where it resumed, distillation counts subsets over all the levels of its run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { progressView, subsetsPerLevel } from "../src/distill/progress.js";
import { createProgress } from "../src/train/progress.js";
import { type ProgressEvent, parseProgressLine } from "../src/util/progress-event.js";

function events() {
  const lines: string[] = [];
  const stream = { write: (text: string) => lines.push(text) > 0, isTTY: false };
  const parsed = () =>
    lines.map((l) => {
      const e = parseProgressLine(l);
      assert.ok(e, `not an event: ${l}`);
      return e as ProgressEvent;
    });
  return { stream, parsed };
}

test("training: images over every epoch, the epochs before a resume counted as resumed", () => {
  const out = events();
  const progress = createProgress("json", out.stream as unknown as NodeJS.WritableStream);
  // Resumed after 2 of 4 epochs of 100 images.
  progress.start(3, 4, 100);
  progress.update(100, 0.5, 0.9);
  const summary = { epoch: 3, epochs: 4, images: 100, seconds: 1, loss: 0.5, accuracy: 0.9 };
  progress.finish(summary);
  progress.start(4, 4, 100);
  progress.update(100, 0.4, 0.95);
  progress.finish({ ...summary, epoch: 4 });
  const all = out.parsed();
  assert.ok(all.every((e) => e.stage === "train" && e.unit === "images" && e.total === 400));
  assert.ok(all.every((e) => e.resumed === 200));
  assert.equal(all[0].done, 200);
  assert.equal(all.at(-1)?.done, 400);
  assert.match(all.at(-1)?.detail ?? "", /^epoch 4\/4: loss 0\.5000 acc 90\.00%/);
  for (let i = 1; i < all.length; i++) assert.ok(all[i].done >= all[i - 1].done);
});

test("distillation: subsets of every level of the run, restored ones counted as resumed", () => {
  assert.deepEqual(subsetsPerLevel([10, 6, 5, 5, 4]), [600, 100, 20, 4, 1]);
  const out = events();
  // Re-distilling levels 3..4 of a hierarchy (--from-level 2) with fan-ins 2, 2: 2 + 1 subsets.
  const view = progressView(
    "json",
    { subsets: subsetsPerLevel([2, 2]), firstLevel: 3 },
    out.stream as unknown as NodeJS.WriteStream,
  );
  const level = { levels: 4, meanFirstLoss: 1, meanLastLoss: 0.5 };
  // Level 3: one subset restored from the checkpoint, the other done here.
  view.update({ ...level, level: 3, done: 2, total: 2, doneHere: 1 });
  view.level(3, 1.5);
  view.update({ ...level, level: 4, done: 1, total: 1, doneHere: 1 });
  view.level(4, 0.5);
  const all = out.parsed();
  assert.ok(all.every((e) => e.stage === "distill" && e.unit === "subsets" && e.total === 3));
  assert.deepEqual(
    all.map((e) => e.done),
    [2, 2, 3, 3],
  );
  assert.ok(all.every((e) => e.resumed === 1));
  assert.equal(all[0].detail, "level 3/4 2/2");
});
