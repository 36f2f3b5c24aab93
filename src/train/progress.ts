// Training progress on stderr: a cli-progress bar with rate, ETA, loss and accuracy on a
// terminal, one summary line per epoch otherwise (logs, tests).
import cliProgress from "cli-progress";

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

class SilentProgress implements Progress {
  start(): void {}
  update(): void {}
  finish(): void {}
  interrupt(): void {}
}

/** "bar" on a TTY by default, else one line per epoch; "none" prints nothing. */
export function createProgress(mode?: "bar" | "lines" | "none"): Progress {
  const chosen = mode ?? (process.stderr.isTTY ? "bar" : "lines");
  if (chosen === "bar") return new BarProgress();
  if (chosen === "lines") return new LineProgress();
  return new SilentProgress();
}
