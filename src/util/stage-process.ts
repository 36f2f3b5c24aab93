// Runs one stage of a multi-stage command as a child process: its progress events (one JSON
// line each on stderr) go to the caller's handler, every other line of its stderr on unchanged.
import { spawn } from "node:child_process";
import { type ProgressEvent, parseProgressLine } from "./progress-event.js";

export interface StageOutput {
  event(event: ProgressEvent): void;
  /** A line of the child's stderr that is no event, with its newline (the last may lack it). */
  text(line: string): void;
}

/** Splits a byte stream into lines: each event line to `event`, everything else to `text`. */
export function lineSplitter(out: StageOutput): { push(chunk: string): void; end(): void } {
  let pending = "";
  const line = (text: string) => {
    const event = parseProgressLine(text);
    if (event) out.event(event);
    else out.text(text);
  };
  return {
    push(chunk) {
      pending += chunk;
      let at = pending.indexOf("\n");
      while (at >= 0) {
        line(pending.slice(0, at + 1));
        pending = pending.slice(at + 1);
        at = pending.indexOf("\n");
      }
    },
    end() {
      if (pending) line(pending);
      pending = "";
    },
  };
}

export class StageFailed extends Error {
  override name = "StageFailed";
  constructor(
    message: string,
    /** The child's exit code (null when a signal stopped it); 130 after Ctrl-C. */
    readonly code: number | null = null,
  ) {
    super(message);
  }
}

/**
 * Runs `node [...nodeArgs] script ...args` with stdout ignored; resolves when it exits 0, rejects
 * with a StageFailed naming the exit code or signal otherwise (its stderr has been passed on).
 * Ctrl-C reaches the child from the terminal: this process outlives it to pass its last words on.
 */
export function runStageProcess(
  nodeArgs: string[],
  script: string,
  args: string[],
  out: StageOutput,
): Promise<void> {
  return new Promise((ok, failed) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const lines = lineSplitter(out);
    const outlive = () => {};
    process.on("SIGINT", outlive);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => lines.push(chunk));
    child.on("error", (error) => {
      process.off("SIGINT", outlive);
      failed(new StageFailed(`${script}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      process.off("SIGINT", outlive);
      lines.end();
      if (code === 0) ok();
      else
        failed(
          new StageFailed(
            `${script} ${signal ? `stopped by ${signal}` : `exited with code ${code}`}`,
            code,
          ),
        );
    });
  });
}
