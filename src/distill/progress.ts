// Distillation progress on stderr: a cli-progress bar per level with rate and ETA on a terminal,
// a line every few seconds otherwise (logs, tests), or progress events over all levels (json).
import cliProgress from "cli-progress";
import { ProgressWriter } from "../util/progress-event.js";
import type { Progress } from "./distill-config.js";

export type ProgressMode = "bar" | "lines" | "json" | "none";

export interface ProgressView {
  update(progress: Progress): void;
  level(level: number, seconds: number): void;
  stop(): void;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m}m${Math.round(seconds % 60)}s` : `${Math.round(seconds)}s`;
}

/** Subsets per level of a run with these fan-ins: S_L = f_{L+1}·…·f_K (the first is nominal). */
export function subsetsPerLevel(fanIns: number[]): number[] {
  return fanIns.map((_, i) => fanIns.slice(i + 1).reduce((a, b) => a * b, 1));
}

/**
 * The view for a mode (default: bar on a terminal, else lines). `subsets` (per level of this run,
 * `subsetsPerLevel`) and `firstLevel` (the level number of its first level) size the json events.
 */
export function progressView(
  mode?: ProgressMode,
  run: { subsets: number[]; firstLevel: number } = { subsets: [], firstLevel: 1 },
  stream: NodeJS.WriteStream = process.stderr,
): ProgressView {
  const chosen = mode ?? (stream.isTTY ? "bar" : "lines");
  if (chosen === "json") return jsonView(run.subsets, run.firstLevel, stream);
  if (chosen === "none") return { update() {}, level() {}, stop() {} };
  return humanView(stream, chosen === "bar");
}

/** One event stream over every level: done and total count the subsets of all levels. */
function jsonView(subsets: number[], firstLevel: number, stream: NodeJS.WriteStream): ProgressView {
  const writer = new ProgressWriter({ stage: "distill", unit: "subsets", stream });
  const total = subsets.reduce((a, b) => a + b, 0);
  const before = (level: number) => subsets.slice(0, level - firstLevel).reduce((a, b) => a + b, 0);
  return {
    update(p) {
      const done = before(p.level) + p.done;
      writer.update(done, total, {
        detail: `level ${p.level}/${p.levels} ${p.done}/${p.total}`,
        resumed: done - p.doneHere,
      });
    },
    level(level) {
      writer.update(before(level + 1), total, { detail: `level ${level} done`, force: true });
    },
    stop() {},
  };
}

function humanView(stream: NodeJS.WriteStream, tty: boolean): ProgressView {
  let current = 0;
  let levelStart = 0;
  let firstDone = 0;
  let lastLine = 0;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format:
            "level {lvl}/{levels} |{bar}| {value}/{total} subsets | {rate} subsets/s | ETA {eta_formatted}",
          stream,
          hideCursor: true,
          etaBuffer: 30,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  return {
    update(p) {
      const now = performance.now();
      if (p.level !== current) {
        current = p.level;
        levelStart = now;
        firstDone = p.done;
        bar?.stop();
        bar?.start(p.total, p.done, { lvl: p.level, levels: p.levels, rate: "-" });
      }
      const seconds = (now - levelStart) / 1000;
      const rate = seconds > 0 ? (p.done - firstDone) / seconds : 0;
      if (bar) {
        bar.update(p.done, { rate: rate.toFixed(2) });
      } else if (now - lastLine > 10_000 || p.done === p.total) {
        lastLine = now;
        const left = rate > 0 ? (p.total - p.done) / rate : Number.POSITIVE_INFINITY;
        stream.write(
          `distill: level ${p.level}/${p.levels} ${p.done}/${p.total} subsets, ${rate.toFixed(2)} subsets/s, ETA ${eta(left)}\n`,
        );
      }
    },
    level(level, seconds) {
      bar?.stop();
      current = 0;
      stream.write(`distill: level ${level} done in ${seconds.toFixed(1)} s\n`);
    },
    stop() {
      bar?.stop();
    },
  };
}
