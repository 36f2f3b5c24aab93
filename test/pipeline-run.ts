// scripts/pipeline.ts as the pipeline tests run it: in a child process, to its summary line or
// to the refusal it exits with.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

export function pipeline(...args: string[]) {
  return exec(process.execPath, ["--import", "tsx", "scripts/pipeline.ts", ...args], {
    maxBuffer: 16 << 20,
  });
}

/** A run expected to stop: its exit code and stderr (fails the test if it ran). */
export function pipelineRefusal(...args: string[]): Promise<{ code: number; stderr: string }> {
  return pipeline(...args).then(
    () => assert.fail("the pipeline ran"),
    (error: { code: number; stderr: string }) => error,
  );
}
