// The machine-readable progress contract between a long-running script (`--progress json`) and
// the pipeline that runs it: one JSON line per update on stderr, its parser, and a throttled writer.
import { z } from "zod";

/** One update of a stage's progress, written as one JSON line (`{"event":"progress",...}`). */
export const progressEventSchema = z.object({
  event: z.literal("progress"),
  /** The script's name for its work ("train", "distill", "evaluate"). */
  stage: z.string().min(1),
  /** Units finished, including those restored from a checkpoint (`resumed`). */
  done: z.number().nonnegative(),
  total: z.number().positive(),
  /** What a unit is: "images", "subsets"... */
  unit: z.string().min(1),
  /** Units that were already done when this process started (resumed from a checkpoint). */
  resumed: z.number().nonnegative(),
  /** The stage's own estimate of the seconds left; null until it has a rate. */
  etaSeconds: z.number().nonnegative().nullable(),
  /** A short human note: the epoch and its loss, the level... */
  detail: z.string().optional(),
});

export type ProgressEvent = z.infer<typeof progressEventSchema>;

/** The event as one line (with its newline). */
export function progressLine(event: Omit<ProgressEvent, "event">): string {
  return `${JSON.stringify({ event: "progress", ...event })}\n`;
}

/** The event a line holds, or undefined for any other line (text, errors, malformed JSON). */
export function parseProgressLine(line: string): ProgressEvent | undefined {
  const text = line.trim();
  if (!text.startsWith("{") || !text.includes('"progress"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = progressEventSchema.safeParse(value);
  if (!parsed.success || parsed.data.done > parsed.data.total) return undefined;
  return parsed.data;
}

export interface ProgressWriterOptions {
  stage: string;
  unit: string;
  stream?: { write(text: string): unknown };
  /** At most one line per this many milliseconds, except the first and the last (done = total). */
  intervalMs?: number;
  now?: () => number;
}

/**
 * Writes a stage's progress as event lines at a sane rate, with an ETA from the rate since its
 * first update (so neither the setup before it nor units restored from a checkpoint count).
 */
export class ProgressWriter {
  private origin: { at: number; done: number } | undefined;
  private last = Number.NEGATIVE_INFINITY;
  private resumed: number | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ProgressWriterOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * `done` of `total` units. `resumed` (taken the first time) is how many of them were done
   * before this process started; `force` writes the line whatever the interval (an epoch's end).
   */
  update(
    done: number,
    total: number,
    extra: { detail?: string; resumed?: number; force?: boolean } = {},
  ): void {
    const { detail, resumed, force } = extra;
    this.resumed ??= resumed ?? 0;
    const now = this.now();
    this.origin ??= { at: now, done };
    if (!force && done < total && now - this.last < (this.options.intervalMs ?? 250)) return;
    this.last = now;
    const units = done - this.origin.done;
    const seconds = (now - this.origin.at) / 1000;
    const etaSeconds = units > 0 && seconds > 0 ? ((total - done) * seconds) / units : null;
    (this.options.stream ?? process.stderr).write(
      progressLine({
        stage: this.options.stage,
        done,
        total,
        unit: this.options.unit,
        resumed: this.resumed,
        etaSeconds,
        ...(detail ? { detail } : {}),
      }),
    );
  }
}
