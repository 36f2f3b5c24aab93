// The one way to start a worker thread (inference pool, distillation, training): on a
// TypeScript module, Node 20 workers do not inherit tsx's loader, so the worker first
// registers tsx's ESM hooks, then imports the module.
import { Worker, type WorkerOptions } from "node:worker_threads";

export function spawnModuleWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!moduleUrl.pathname.endsWith(".ts")) return new Worker(moduleUrl, options);
  const api = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}
