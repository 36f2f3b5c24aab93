// Small helpers for scripts: typed flags on node:util parseArgs, flag value checks, and a
// main() wrapper that turns expected failures into one line on stderr and exit code 2.
import { type ParseArgsConfig, parseArgs } from "node:util";

type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** An expected failure: printed as one line, exit code 2. */
export class CliError extends Error {
  override name = "CliError";
}

/** Parses argv (default: process.argv after the script) strictly; bad flags throw CliError. */
export function parseCli<const O extends FlagOptions>(
  options: O,
  argv: string[] = process.argv.slice(2),
) {
  try {
    return parseArgs({ options, args: argv, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** An integer flag value within bounds (undefined → fallback). */
export function intFlag(
  value: string | undefined,
  name: string,
  fallback: number,
  bounds: { min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`--${name} must be an integer, got "${value}"`);
  if (bounds.min !== undefined && n < bounds.min)
    throw new CliError(`--${name} must be at least ${bounds.min}, got ${n}`);
  if (bounds.max !== undefined && n > bounds.max)
    throw new CliError(`--${name} must be at most ${bounds.max}, got ${n}`);
  return n;
}

/** A finite number flag value within bounds (undefined → fallback). */
export function numberFlag(
  value: string | undefined,
  name: string,
  fallback: number,
  bounds: { min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new CliError(`--${name} must be a number, got "${value}"`);
  if (bounds.min !== undefined && n < bounds.min)
    throw new CliError(`--${name} must be at least ${bounds.min}, got ${n}`);
  if (bounds.max !== undefined && n > bounds.max)
    throw new CliError(`--${name} must be at most ${bounds.max}, got ${n}`);
  return n;
}

/** One of a fixed set of values (undefined → fallback). */
export function choiceFlag<const C extends string>(
  value: string | undefined,
  name: string,
  choices: readonly C[],
  fallback: C,
): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new CliError(`--${name} must be one of ${choices.join(", ")}, got "${value}"`);
  }
  return value as C;
}

/**
 * Flag checks for a script that checks its flags up front: failures print one line prefixed
 * with the script's name and exit 2; `number` accepts values ≥ min (integers when asked).
 */
export function scriptFlags(script: string) {
  const fail = (message: string): never => {
    process.stderr.write(`${script}: ${message}\n`);
    process.exit(2);
  };
  const number = <V extends string | undefined>(
    name: string,
    value: V,
    integer: boolean,
    min: number,
  ): V extends string ? number : number | undefined => {
    type Result = V extends string ? number : number | undefined;
    if (value === undefined) return undefined as Result;
    const n = Number(value);
    if (value === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
      fail(`--${name} must be ${integer ? "an integer" : "a number"} ≥ ${min}, got "${value}"`);
    }
    return n as Result;
  };
  /** Strict flag parsing (no positionals); a bad flag is one line pointing at --help. */
  const parse = <const O extends FlagOptions>(options: O, argv = process.argv.slice(2)) => {
    try {
      return parseArgs({ options, args: argv, strict: true, allowPositionals: false }).values;
    } catch (error) {
      return fail(`${(error as Error).message.replaceAll("\n", " ")} (see --help)`);
    }
  };
  return { fail, number, parse };
}

/** Prints one line and exits with code 2. */
export function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

const BUILTIN = new Set([
  "Error",
  "TypeError",
  "RangeError",
  "ReferenceError",
  "SyntaxError",
  "EvalError",
  "URIError",
  "AggregateError",
]);
const KNOWN_CODES = new Set(["ENOENT", "EACCES", "EISDIR", "ENOTDIR", "EEXIST"]);

/** Custom error classes (CliError, BackendError, CheckpointError, SpecError…) and file errors. */
export function isKnownError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return !BUILTIN.has(error.name) || (code !== undefined && KNOWN_CODES.has(code));
}

/** Runs a script body: known errors end as one line (exit 2), others with their stack (exit 1). */
export function main(fn: () => Promise<void> | void): void {
  Promise.resolve()
    .then(fn)
    .catch((error: unknown) => {
      if (isKnownError(error)) fail(error.message);
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    });
}
