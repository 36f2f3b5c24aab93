// The whole-run progress: the event contract (parse, throttled writer), the aggregation of
// weighted stages into one fraction and ETA, the line display, and a real child's stderr split
// into events and unchanged text.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ProgressWriter, parseProgressLine, progressLine } from "../src/util/progress-event.js";
import { RunProgress } from "../src/util/run-progress.js";
import { RunProgressView } from "../src/util/run-progress-view.js";
import { lineSplitter, runStageProcess, StageFailed } from "../src/util/stage-process.js";

const event = (done: number, total: number, extra: Partial<Record<string, unknown>> = {}) => ({
  stage: "train",
  done,
  total,
  unit: "images",
  resumed: 0,
  etaSeconds: null,
  ...extra,
});

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

function close(actual: number | null | undefined, expected: number) {
  assert.ok(Math.abs((actual ?? Number.NaN) - expected) < 1e-9, `${actual} ≠ ${expected}`);
}

function sink() {
  const s = { text: "", write: (chunk: string) => (s.text += chunk) };
  return s;
}

test("an event line parses back; text, malformed JSON and wrong shapes are not events", () => {
  const line = progressLine(event(3, 10, { etaSeconds: 7, detail: "epoch 1/2" }));
  assert.ok(line.endsWith("\n"));
  assert.deepEqual(parseProgressLine(line), {
    event: "progress",
    ...event(3, 10, { etaSeconds: 7, detail: "epoch 1/2" }),
  });
  for (const bad of [
    "distill: level 1 done in 3.0 s",
    '{"event":"progress","stage":"train","done":3',
    '{"event":"progress","stage":"train","done":"3","total":10,"unit":"images","resumed":0,"etaSeconds":null}',
    '{"event":"progress","stage":"train","done":11,"total":10,"unit":"images","resumed":0,"etaSeconds":null}',
    '{"event":"progress","stage":"train","done":1,"total":0,"unit":"images","resumed":0,"etaSeconds":null}',
    '{"event":"other","stage":"train","done":1,"total":10,"unit":"images","resumed":0,"etaSeconds":null}',
    '{"level":"error","msg":"progress failed"}',
  ]) {
    assert.equal(parseProgressLine(bad), undefined, bad);
  }
});

test("the writer throttles, forces the last line, and takes its ETA from the rate since its first update", () => {
  const c = clock();
  const out = sink();
  const writer = new ProgressWriter({ stage: "train", unit: "images", stream: out, now: c.now });
  c.t = 5000; // setup before the first update is no part of the rate
  writer.update(50, 100, { resumed: 50 }); // restored from a checkpoint: no rate yet
  c.t = 6000;
  writer.update(60, 100); // 10 in 1 s: 40 left → 4 s
  c.t = 6100;
  writer.update(70, 100); // within 250 ms: dropped
  c.t = 6200;
  writer.update(100, 100); // the last one always goes
  const events = out.text.trim().split("\n").map(parseProgressLine);
  assert.deepEqual(
    events.map((e) => [e?.done, e?.resumed, e?.etaSeconds]),
    [
      [50, 50, null],
      [60, 50, 4],
      [100, 50, 0],
    ],
  );
});

test("stages count by weight; resumed ones are done but no part of the pace; the ETA adds the stage's own", () => {
  const c = clock();
  const run = new RunProgress(
    [
      { name: "train", weight: 50 },
      { name: "distill", weight: 30 },
      { name: "evaluate", weight: 20 },
      { name: "export", weight: 0 },
    ],
    c.now,
  );
  run.resumed(0);
  let snap = run.snapshot();
  assert.equal(snap.fraction, 0.5);
  assert.equal(snap.etaSeconds, null, "no pace measured yet");
  run.start(1);
  c.t = 10_000;
  run.apply({ event: "progress", ...event(10, 40, { resumed: 0, etaSeconds: 25 }) });
  snap = run.snapshot();
  close(snap.fraction, 0.575);
  // 10 s for a quarter of weight 30 (7.5): 4/3 s per unit; the distillation's own 25 s plus 20 × 4/3.
  assert.ok(Math.abs((snap.etaSeconds ?? 0) - (25 + 20 * (4 / 3))) < 1e-9, `${snap.etaSeconds}`);
  assert.equal(snap.current?.name, "distill");
  // Without its own ETA the running stage's rest goes at the pace too.
  run.apply({ event: "progress", ...event(10, 40) });
  assert.ok(Math.abs((run.snapshot().etaSeconds ?? 0) - (22.5 + 20) * (4 / 3)) < 1e-9);
  c.t = 40_000;
  assert.equal(run.finish(1), 40);
  run.start(2);
  // A stage that restored half its work from a checkpoint: the restored half is not pace.
  c.t = 41_000;
  run.apply({ event: "progress", ...event(60, 100, { resumed: 50, etaSeconds: null }) });
  snap = run.snapshot();
  close(snap.fraction, 0.92);
  const pace = 41 / (30 + 20 * 0.1);
  assert.ok(Math.abs((snap.etaSeconds ?? 0) - pace * 20 * 0.4) < 1e-9, `${snap.etaSeconds}`);
  run.finish(2);
  run.start(3);
  run.finish(3);
  snap = run.snapshot();
  assert.equal(snap.fraction, 1);
  assert.equal(snap.etaSeconds, 0);
  assert.deepEqual(
    snap.stages.map((s) => s.state),
    ["resumed", "done", "done", "done"],
  );
});

test("the overall fraction never goes back, and zero weights fall back to counting stages", () => {
  const run = new RunProgress([
    { name: "a", weight: 0 },
    { name: "b", weight: 0 },
  ]);
  run.start(0);
  assert.equal(run.snapshot().fraction, 0);
  run.finish(0);
  assert.equal(run.snapshot().fraction, 0.5);
  const weighted = new RunProgress([{ name: "a", weight: 1 }]);
  weighted.start(0);
  weighted.apply({ event: "progress", ...event(8, 10) });
  assert.equal(weighted.snapshot().fraction, 0.8);
  weighted.apply({ event: "progress", ...event(5, 10) });
  assert.equal(weighted.snapshot().fraction, 0.8);
});

test("lines: one status line per interval, notes with the overall status, timings at the end; none prints only the stages' text", () => {
  for (const mode of ["lines", "none"] as const) {
    const c = clock();
    const out = sink();
    const run = new RunProgress(
      [
        { name: "train", weight: 3 },
        { name: "export", weight: 1 },
      ],
      c.now,
    );
    const view = new RunProgressView(run, mode, out as unknown as NodeJS.WritableStream, {
      label: "pipeline",
      lineIntervalMs: 1000,
      now: c.now,
    });
    run.start(0);
    view.note("[1/2] train…");
    for (let i = 1; i <= 30; i++) {
      c.t = i * 100;
      view.event({ event: "progress", ...event(i, 30) });
    }
    view.text("a warning from the stage\n");
    c.t = 3100;
    view.note(`[1/2] train: ${run.finish(0).toFixed(1)} s`);
    run.start(1);
    run.finish(1);
    view.close();
    if (mode === "none") {
      assert.equal(out.text, "a warning from the stage\n");
      continue;
    }
    const lines = out.text.trim().split("\n");
    assert.equal(lines[0], "pipeline 0.0% ETA ? · [1/2] train…");
    const status = lines.filter((l) => /^pipeline \d+\.\d% ETA /.test(l) && l.includes("images"));
    assert.equal(status.length, 3, out.text); // at 1.0, 2.0 and 3.0 s, not at every event
    assert.match(status[0], /^pipeline 25\.0% ETA 3s · \[1\/2\] train: 10\/30 images, ETA \?$/);
    assert.ok(lines.includes("a warning from the stage"));
    assert.ok(lines.includes("pipeline 75.0% ETA 1s · [1/2] train: 3.1 s"), out.text);
    assert.ok(
      lines.includes("  [1/2] train: 3.1 s (100% of the time, 75% of the estimated work)"),
      out.text,
    );
    assert.ok(
      lines.includes("  [2/2] export: 0.0 s (0% of the time, 25% of the estimated work)"),
      out.text,
    );
  }
});

test("a child's stderr: events go to the handler, every other line on unchanged, the exit code in the error", async () => {
  const texts: string[] = [];
  const events: number[] = [];
  const split = lineSplitter({ event: (e) => events.push(e.done), text: (t) => texts.push(t) });
  const first = progressLine(event(1, 2));
  split.push(`warn: a\r\n${first.slice(0, 10)}`);
  split.push(`${first.slice(10)}{"event":"progress"} broken\nno newline`);
  split.end();
  assert.deepEqual(events, [1]);
  assert.deepEqual(texts, ["warn: a\r\n", '{"event":"progress"} broken\n', "no newline"]);

  const dir = await mkdtemp(join(tmpdir(), "cgnn-stage-process-"));
  try {
    const script = join(dir, "stage.mjs");
    await writeFile(
      script,
      `process.stderr.write(${JSON.stringify(progressLine(event(5, 10)))});
process.stderr.write("Error: the data set is broken\\n    at load (x.ts:1:1)\\n");
process.exit(Number(process.argv[2]));`,
    );
    const seen: string[] = [];
    const out = {
      event: (e: { done: number }) => seen.push(`event ${e.done}`),
      text: (t: string) => seen.push(t),
    };
    await runStageProcess([], script, ["0"], out);
    assert.deepEqual(seen, [
      "event 5",
      "Error: the data set is broken\n",
      "    at load (x.ts:1:1)\n",
    ]);
    await assert.rejects(runStageProcess([], script, ["3"], out), (error: Error) => {
      assert.ok(error instanceof StageFailed);
      assert.match(error.message, /stage\.mjs exited with code 3$/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("bar: one line redrawn in place, the stages' text printed above it, cut to the terminal", () => {
  const c = clock();
  const out = Object.assign(sink(), { columns: 60 });
  const run = new RunProgress([{ name: "distil the references", weight: 1 }], c.now);
  const view = new RunProgressView(run, "bar", out as unknown as NodeJS.WritableStream, {
    label: "pipeline",
    now: c.now,
  });
  run.start(0);
  c.t = 500;
  view.event({ event: "progress", ...event(1, 2, { unit: "subsets", detail: "level 1/1 1/2" }) });
  const bar = out.text.split("\r\x1b[2K").at(-1) ?? "";
  assert.ok(bar.startsWith(`|${"█".repeat(12)}${"░".repeat(12)}| 50.0% ETA 1s`), bar);
  assert.ok(bar.length <= 59 && bar.endsWith("…"), bar);
  assert.ok(!bar.includes("\n"));
  view.text("warn: slow disk\n");
  assert.ok(
    out.text.endsWith(`\r\x1b[2Kwarn: slow disk\n\r\x1b[2K${bar}`),
    JSON.stringify(out.text),
  );
});
