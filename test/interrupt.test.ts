// Ctrl-C for long runs: the first SIGINT aborts the run's signal and the process goes on to
// stop cleanly; a second SIGINT exits at once with code 130.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";

const child = `import { abortOnSigint } from "./src/util/interrupt.ts";
const interrupt = abortOnSigint("demo", "stopping");
interrupt.signal.addEventListener("abort", () => console.log("aborted"));
console.log("ready");
setInterval(() => {}, 1000);`;

function start() {
  const proc = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", child], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const seen = { stdout: "", stderr: "" };
  proc.stdout.on("data", (d) => {
    seen.stdout += d;
  });
  proc.stderr.on("data", (d) => {
    seen.stderr += d;
  });
  // stdout and stderr are two pipes: what the child wrote to one may arrive before what it wrote
  // earlier to the other, so each text is awaited on its own stream.
  const waitFor = async (stream: "stdout" | "stderr", text: string) => {
    while (!seen[stream].includes(text)) await once(proc[stream], "data");
  };
  return { proc, waitFor, seen };
}

test("the first Ctrl-C aborts the signal and the process keeps running; the second exits 130", async (t) => {
  const { proc, waitFor, seen } = start();
  // A failed assertion must not leave the child (it never exits on its own) holding the test run open.
  t.after(() => proc.kill("SIGKILL"));
  await waitFor("stdout", "ready");
  proc.kill("SIGINT");
  await waitFor("stdout", "aborted");
  await waitFor("stderr", "demo: stopping (Ctrl-C again to quit at once)");
  assert.equal(proc.exitCode, null, "still running after the first SIGINT");
  // "close" comes after the child's pipes are drained, so all it wrote has arrived by then.
  const closed = once(proc, "close");
  proc.kill("SIGINT");
  const [code] = await closed;
  assert.equal(code, 130);
  assert.match(seen.stderr, /demo: interrupted again, exiting now/);
});
