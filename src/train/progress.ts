// Training progress on stderr: a cli-progress bar with rate, ETA, loss and accuracy on a
// terminal, one summary line per epoch otherwise (logs, tests), or progress events (json).
import cliProgress from "cli-progress";
import { ProgressWriter } from "../util/progress-event.js";

export interface EpochSummary {
  epoch: number;
  epochs: number;
  images: number;
  seconds: number;
  loss: number;
  accuracy: number;
  test?: { accuracy: number; loss: number };
}

export interface Progress {
  start(epoch: number, epochs: number, total: number): void;
  update(done: number, loss: number, accuracy: number): void;
  finish(summary: EpochSummary): void;
  /** The epoch was cut short (an aborted run): clear the bar, print nothing else. */
  interrupt(): void;
}

function summaryLine(s: EpochSummary): string {
  const rate = s.seconds > 0 ? s.images / s.seconds : 0;
  const test = s.test
    ? ` test_loss ${s.test.loss.toFixed(4)} test_acc ${(s.test.accuracy * 100).toFixed(2)}%`
    : "";
  return `epoch ${s.epoch}/${s.epochs}: loss ${s.loss.toFixed(4)} acc ${(s.accuracy * 100).toFixed(2)}%${test} (${rate.toFixed(0)} img/s, ${s.seconds.toFixed(1)} s)`;
}

class BarProgress implements Progress {
  private bar = new cliProgress.SingleBar(
    {
      format:
        "epoch {epoch}/{epochs} |{bar}| {value}/{total} img | {rate} img/s | ETA {eta_formatted} | loss {loss} | acc {acc}",
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  private started = 0;

  start(epoch: number, epochs: number, total: number): void {
    this.started = performance.now();
    this.bar.start(total, 0, { epoch, epochs, rate: "-", loss: "-", acc: "-" });
  }

  update(done: number, loss: number, accuracy: number): void {
    const seconds = (performance.now() - this.started) / 1000;
    this.bar.update(done, {
      rate: seconds > 0 ? (done / seconds).toFixed(0) : "-",
      loss: loss.toFixed(4),
      acc: `${(accuracy * 100).toFixed(2)}%`,
    });
  }

  finish(summary: EpochSummary): void {
    this.bar.stop();
    process.stderr.write(`${summaryLine(summary)}\n`);
  }

  interrupt(): void {
    this.bar.stop();
  }
}

class LineProgress implements Progress {
  start(): void {}
  update(): void {}
  finish(summary: EpochSummary): void {
    process.stderr.write(`${summaryLine(summary)}\n`);
  }
  interrupt(): void {}
}

/** Progress events over the whole run (images × epochs) for a parent such as the pipeline. */
class JsonProgress implements Progress {
  private readonly writer: ProgressWriter;
  private epoch = 1;
  private epochs = 1;
  private total = 0;

  constructor(stream: NodeJS.WritableStream) {
    this.writer = new ProgressWriter({ stage: "train", unit: "images", stream });
  }

  start(epoch: number, epochs: number, total: number): void {
    Object.assign(this, { epoch, epochs, total });
    const before = (epoch - 1) * total;
    this.writer.update(before, epochs * total, { resumed: before, force: true });
  }

  update(done: number, loss: number, accuracy: number): void {
    const detail = `epoch ${this.epoch}/${this.epochs} loss ${loss.toFixed(4)} acc ${(accuracy * 100).toFixed(2)}%`;
    this.writer.update((this.epoch - 1) * this.total + done, this.epochs * this.total, { detail });
  }

  finish(summary: EpochSummary): void {
    this.writer.update(summary.epoch * this.total, this.epochs * this.total, {
      detail: summaryLine(summary),
      force: true,
    });
  }

  interrupt(): void {}
}

class SilentProgress implements Progress {
  start(): void {}
  update(): void {}
  finish(): void {}
  interrupt(): void {}
}

/** "bar" on a TTY by default, else one line per epoch; "json" events; "none" prints nothing. */
export function createProgress(
  mode?: "bar" | "lines" | "json" | "none",
  /** Where json events go (tests); the other modes write to stderr. */
  events: NodeJS.WritableStream = process.stderr,
): Progress {
  const chosen = mode ?? (process.stderr.isTTY ? "bar" : "lines");
  if (chosen === "bar") return new BarProgress();
  if (chosen === "lines") return new LineProgress();
  if (chosen === "json") return new JsonProgress(events);
  return new SilentProgress();
}
