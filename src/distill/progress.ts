// Distillation progress on stderr: a cli-progress bar per level with rate and ETA on a terminal,
// a line every few seconds otherwise (logs, tests).
import cliProgress from "cli-progress";
import type { Progress } from "./distill-config.js";

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

export function progressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  let current = 0;
  let levelStart = 0;
  let firstDone = 0;
  let lastLine = 0;
  const bar = stream.isTTY
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
