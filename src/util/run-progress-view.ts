// The whole run's progress on a stream: one redrawn bar on a terminal (the stages' other output
// printed above it), a line every few seconds in logs, or nothing; the stage timings at the end.
import type { ProgressEvent } from "./progress-event.js";
import type { RunProgress, RunSnapshot } from "./run-progress.js";

export type RunProgressMode = "bar" | "lines" | "none";

export interface RunProgressViewOptions {
  /** What the lines start with. */
  label: string;
  /** lines: at most one progress line per this many ms besides the stages' start and end. */
  lineIntervalMs?: number;
  /** bar: at most one redraw per this many ms. */
  redrawMs?: number;
  now?: () => number;
}

export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function stagePart(snap: RunSnapshot, count: number): string {
  const c = snap.current;
  if (!c) return "";
  const e: ProgressEvent | undefined = c.event;
  const work = e ? ` ${e.done}/${e.total} ${e.unit}, ETA ${duration(e.etaSeconds)}` : "";
  const detail = e?.detail ? ` · ${e.detail}` : "";
  return ` · [${c.index + 1}/${count}] ${c.name}${work ? `:${work}` : ""}${detail}`;
}

/** "62.3% ETA 4m10s" */
export function overallText(snap: RunSnapshot): string {
  return `${(snap.fraction * 100).toFixed(1)}% ETA ${duration(snap.etaSeconds)}`;
}

/** "62.3% ETA 4m10s · [2/4] distil the references: 120/725 subsets, ETA 3m02s · level 1/5 …" */
export function statusText(snap: RunSnapshot, count: number): string {
  return `${overallText(snap)}${stagePart(snap, count)}`;
}

function barText(snap: RunSnapshot, count: number, columns: number): string {
  const cells = 24;
  const filled = Math.round(snap.fraction * cells);
  const bar = `|${"█".repeat(filled)}${"░".repeat(cells - filled)}|`;
  const text = `${bar} ${statusText(snap, count)}`;
  return text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text;
}

export class RunProgressView {
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private readonly now: () => number;

  constructor(
    private readonly progress: RunProgress,
    private readonly mode: RunProgressMode,
    private readonly stream: NodeJS.WritableStream & { columns?: number },
    private readonly options: RunProgressViewOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** A stage's own output (not an event): passed on unchanged, above the bar. */
  text(line: string): void {
    this.clear();
    // The bar's redraw clears its line: a last line without a newline gets one to survive.
    this.stream.write(this.mode === "bar" && !line.endsWith("\n") ? `${line}\n` : line);
    this.draw(true);
  }

  /** A pipeline message with the overall status (every mode but none). */
  note(message: string): void {
    if (this.mode === "none") return;
    this.clear();
    const status = overallText(this.progress.snapshot());
    this.stream.write(`${this.options.label} ${status} · ${message}\n`);
    this.lastDraw = this.now();
    this.draw(true);
  }

  /** The running stage's event. */
  event(event: ProgressEvent): void {
    this.progress.apply(event);
    this.draw(false);
  }

  /** Clears the bar (a failure: the error follows). */
  stop(): void {
    this.clear();
  }

  /** Clears the bar and prints each stage's time and share of the run. */
  close(): void {
    this.clear();
    if (this.mode === "none") return;
    const snap = this.progress.snapshot();
    const ran = snap.stages.filter((s) => s.state === "done").reduce((n, s) => n + s.seconds, 0);
    const percent = (x: number) => `${(100 * x).toFixed(0)}%`;
    const rows = snap.stages.map((s) => {
      const time =
        s.state === "resumed"
          ? "resumed (output existed)"
          : `${s.seconds.toFixed(1)} s (${ran > 0 ? percent(s.seconds / ran) : "-"} of the time, ${percent(s.share)} of the estimated work)`;
      return `  [${s.index + 1}/${snap.stages.length}] ${s.name}: ${time}`;
    });
    this.stream.write(
      `${this.options.label} done in ${snap.elapsedSeconds.toFixed(1)} s\n${rows.join("\n")}\n`,
    );
  }

  private draw(force: boolean): void {
    const now = this.now();
    if (this.mode === "bar") {
      if (!force && now - this.lastDraw < (this.options.redrawMs ?? 100)) return;
      const snap = this.progress.snapshot();
      this.stream.write(
        `\r\x1b[2K${barText(snap, this.progress.count, this.stream.columns ?? 100)}`,
      );
      this.drawn = true;
      this.lastDraw = now;
    } else if (this.mode === "lines" && !force) {
      if (now - this.lastDraw < (this.options.lineIntervalMs ?? 10_000)) return;
      const snap = this.progress.snapshot();
      this.stream.write(`${this.options.label} ${statusText(snap, this.progress.count)}\n`);
      this.lastDraw = now;
    }
  }

  private clear(): void {
    if (this.drawn) this.stream.write("\r\x1b[2K");
    this.drawn = false;
  }
}
