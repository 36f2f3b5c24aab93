// Distillation metrics as the run goes: one JSON line per finished subset (level, subsets done,
// running mean Eq. 5 at the first and last iteration, seconds) next to the output, rewritten
// atomically, and a PNG of each level's loss curve (curves.ts) at every level's end.
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../util/atomic-write.js";
import { curvesPng, type MetricsRow } from "./curves.js";
import type { Progress } from "./distill-config.js";

export type { MetricsRow };

export interface MetricsPaths {
  jsonl: string;
  png: string;
}

/** `runs/x/references.safetensors` → `runs/x/references.metrics.jsonl` and `.curves.png`. */
export function metricsPaths(out: string): MetricsPaths {
  const stem = out.replace(/\.safetensors$/, "");
  return { jsonl: `${stem}.metrics.jsonl`, png: `${stem}.curves.png` };
}

export class MetricsLog {
  private rows: MetricsRow[] = [];
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly paths: MetricsPaths,
    private readonly minSeconds: number,
  ) {}

  /** Keeps the earlier rows of a resumed run; a fresh run starts empty. */
  static async open(paths: MetricsPaths, resume: boolean, minSeconds = 2): Promise<MetricsLog> {
    const log = new MetricsLog(paths, minSeconds);
    if (resume) {
      try {
        const text = await readFile(paths.jsonl, "utf8");
        log.rows = text
          .split("\n")
          .filter((line) => line.trim())
          .map((line) => JSON.parse(line) as MetricsRow);
      } catch {
        log.rows = [];
      }
    }
    return log;
  }

  get all(): readonly MetricsRow[] {
    return this.rows;
  }

  /** Records a finished subset (progress events without losses are skipped). */
  progress(p: Progress): void {
    if (p.meanFirstLoss === undefined || p.meanLastLoss === undefined) return;
    // A resumed run recomputes the subsets a killed one finished after its last checkpoint:
    // their rows are replaced, not repeated.
    this.rows = this.rows.filter((r) => r.level !== p.level || r.done < p.done);
    this.rows.push({
      level: p.level,
      done: p.done,
      total: p.total,
      meanFirstLoss: p.meanFirstLoss,
      meanLastLoss: p.meanLastLoss,
      seconds: +(p.seconds ?? 0).toFixed(3),
      at: new Date().toISOString(),
    });
    if (Date.now() - this.lastWrite >= this.minSeconds * 1000 || p.done === p.total) {
      this.flush(p.done === p.total);
    }
  }

  /** Writes the rows (and the PNG when `plot`) after any write in flight. */
  flush(plot = true): Promise<void> {
    this.lastWrite = Date.now();
    const text = this.rows.map((r) => JSON.stringify(r)).join("\n");
    const rows = [...this.rows];
    this.writing = this.writing.then(async () => {
      await writeFileAtomic(this.paths.jsonl, `${text}\n`);
      if (plot && rows.length > 0) await writeFileAtomic(this.paths.png, await curvesPng(rows));
    });
    return this.writing;
  }

  /** Waits for the writes; rejects with the first failed one. */
  close(): Promise<void> {
    return this.writing;
  }
}
