// How a script ends: usage errors (bad flags, inputs that do not fit) as one line and exit
// code 2, runtime failures as exit code 1 (with the stack when it is a bug). Flags: flags.ts.

/** A usage error: a bad flag, path or input found before or while checking. One line, exit 2. */
export class CliError extends Error {
  override name = "CliError";
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

/** Awaits an input (a data set, a checkpoint…) that the invocation names: failure is a usage error. */
export async function input<T>(value: Promise<T> | (() => Promise<T> | T)): Promise<T> {
  try {
    return await (typeof value === "function" ? value() : value);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message.split("\n")[0] : String(error));
  }
}

/** The exit code and the stderr text a script ends with after `error`. */
export function failure(script: string, error: unknown): { code: 1 | 2; text: string } {
  if (error instanceof CliError) return { code: 2, text: `${script}: ${error.message}\n` };
  if (isKnownError(error)) return { code: 1, text: `${script}: ${error.message.split("\n")[0]}\n` };
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { code: 1, text: `${script}: ${detail}\n` };
}

/** Runs a script body; a CliError ends with `script: message` and exit 2, other errors exit 1. */
export function runScript(script: string, body: () => Promise<void> | void): void {
  Promise.resolve()
    .then(body)
    .catch((error: unknown) => {
      const { code, text } = failure(script, error);
      process.stderr.write(text);
      process.exit(code);
    });
}
