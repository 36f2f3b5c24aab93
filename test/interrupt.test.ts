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
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => {
    stdout += d;
  });
  proc.stderr.on("data", (d) => {
    stderr += d;
  });
  const waitFor = async (text: string) => {
    while (!stdout.includes(text)) await once(proc.stdout, "data");
  };
  return { proc, waitFor, output: () => ({ stdout, stderr }) };
}

test("the first Ctrl-C aborts the signal and the process keeps running; the second exits 130", async () => {
  const { proc, waitFor, output } = start();
  await waitFor("ready");
  proc.kill("SIGINT");
  await waitFor("aborted");
  assert.equal(proc.exitCode, null, "still running after the first SIGINT");
  assert.match(output().stderr, /demo: stopping \(Ctrl-C again to quit at once\)/);
  proc.kill("SIGINT");
  const [code] = await once(proc, "exit");
  assert.equal(code, 130);
  assert.match(output().stderr, /demo: interrupted again, exiting now/);
});
