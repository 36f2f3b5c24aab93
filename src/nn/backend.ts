// The one place that chooses the tfjs backend (argument, --backend flag, CGNN_BACKEND, else
// wasm), says which and why, and installs the training kernels wasm lacks.

import { registerTrainingKernels } from "./kernels/register.js";
import * as tf from "./tf.js";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export const BACKENDS: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

export interface BackendChoice {
  name: BackendName;
  /** The tfjs backend actually active ("wasm", "cpu" or "tensorflow"). */
  tfBackend: string;
  reason: string;
  /** For "tensorflow": which package provided it. */
  package?: string;
}

export class BackendError extends Error {
  override name = "BackendError";
}

export interface InitOptions {
  /** Defaults to process.argv (for --backend NAME / --backend=NAME). */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** No log line (workers). */
  quiet?: boolean;
}

function isBackendName(value: string): value is BackendName {
  return (BACKENDS as readonly string[]).includes(value);
}

function flagValue(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--backend") return argv[i + 1] ?? "";
    if (argv[i].startsWith("--backend=")) return argv[i].slice("--backend=".length);
  }
  return undefined;
}

/** Which backend to use and why, without loading anything. */
export function resolveBackend(
  name?: BackendName,
  options: InitOptions = {},
): { name: BackendName; reason: string } {
  const candidates: [string | undefined, string][] = [
    [name, "requested by the caller"],
    [flagValue(options.argv ?? process.argv), "from the --backend flag"],
    [(options.env ?? process.env).CGNN_BACKEND || undefined, "from CGNN_BACKEND"],
  ];
  for (const [value, reason] of candidates) {
    if (value === undefined) continue;
    if (!isBackendName(value)) {
      throw new BackendError(
        `unknown backend "${value}" (${reason}); choose one of ${BACKENDS.join(", ")}`,
      );
    }
    return { name: value, reason };
  }
  return { name: "wasm", reason: "the default" };
}

async function loadTensorflow(): Promise<string> {
  const failures: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(pkg);
      return pkg;
    } catch (error) {
      failures.push(`${pkg}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  throw new BackendError(
    `backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (npm i @tensorflow/tfjs-node@4.22); neither loaded (${failures.join("; ")})`,
  );
}

let active: BackendChoice | undefined;

/** Chooses, loads and activates the backend; idempotent for the same choice. */
export async function initBackend(
  name?: BackendName,
  options: InitOptions = {},
): Promise<BackendChoice> {
  const resolved = resolveBackend(name, options);
  if (active && active.name === resolved.name && tf.getBackend() === active.tfBackend) {
    return active;
  }
  let pkg: string | undefined;
  if (resolved.name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  if (resolved.name === "tensorflow") pkg = await loadTensorflow();
  const tfName = resolved.name;
  let ok = false;
  try {
    ok = await tf.setBackend(tfName);
  } catch (error) {
    throw new BackendError(`backend "${tfName}" failed to start: ${(error as Error).message}`);
  }
  if (!ok) throw new BackendError(`backend "${tfName}" failed to start`);
  await tf.ready();
  registerTrainingKernels();
  active = {
    name: resolved.name,
    tfBackend: tf.getBackend(),
    reason: resolved.reason,
    package: pkg,
  };
  if (!options.quiet) {
    const extra = pkg
      ? ` via ${pkg}`
      : resolved.name === "cpu"
        ? " (pure JS, for debugging only)"
        : "";
    process.stderr.write(`cgnn: tfjs backend ${resolved.name}${extra} (${resolved.reason})\n`);
  }
  return active;
}

/** The choice made by initBackend, if any. */
export function activeBackend(): BackendChoice | undefined {
  return active;
}
