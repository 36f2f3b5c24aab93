// Runs `src/service/server.ts` (the real `npm start` entry) as a child process on a models
// directory for tests that need signals, exit codes or the process environment.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface ServiceChild {
  child: ChildProcess;
  url: string;
  /** Every JSON log line of stdout and stderr so far. */
  logs: { event: string; [field: string]: unknown }[];
  /** Resolves with the exit code (null when killed by a signal) once the process has ended. */
  exited: Promise<number | null>;
  /** Polls /readyz until 200 (or throws after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends SIGKILL if the process is still running (for `finally`). */
  kill(): void;
}

export async function startServiceChild(
  modelsDir: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<ServiceChild> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/service/server.ts", "--port", "0", "--host", "127.0.0.1", ...args],
    { env: { ...process.env, CGNN_MODELS_DIR: modelsDir, ...env }, stdio: "pipe" },
  );
  const logs: ServiceChild["logs"] = [];
  const exited = once(child, "exit").then(([code]) => code as number | null);
  let onListening: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => {
    onListening = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        try {
          const entry = JSON.parse(line);
          logs.push(entry);
          if (entry.event === "listening") onListening(entry.address.port);
        } catch {
          logs.push({ event: "text", line });
        }
      }
    });
  }
  const port = await Promise.race([
    listening,
    exited.then((code) => {
      throw new Error(`the service exited with ${code} before listening: ${JSON.stringify(logs)}`);
    }),
  ]);
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    logs,
    exited,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const res = await fetch(`${url}/readyz`).catch(() => undefined);
        if (res?.status === 200) return;
        await res?.body?.cancel();
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the service was not ready within ${timeoutMs} ms: ${JSON.stringify(logs)}`);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
