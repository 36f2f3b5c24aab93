// One declarative flag table per script: from it come the typed values, the generated --help,
// one wording for every bad value and one exit code (2) for usage errors (see cli.ts).
import { parseArgs } from "node:util";
import { CliError, failure } from "./cli.js";
import { helpText } from "./flag-help.js";
import {
  describe,
  describeFlag,
  type ElementSpec,
  type FlagSpec,
  type FlagTable,
  type FlagValues,
} from "./flag-table.js";

export { helpText } from "./flag-help.js";
export {
  boolean,
  choice,
  describe,
  type FlagTable,
  type FlagValues,
  int,
  list,
  number,
  repeat,
  string,
} from "./flag-table.js";

function convert(spec: ElementSpec, raw: string): number | string | undefined {
  if (spec.kind === "string") return raw === "" ? undefined : raw;
  if (spec.kind === "choice") return spec.choices.includes(raw) ? raw : undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) return undefined;
  if (spec.kind === "int" && !Number.isInteger(n)) return undefined;
  if (spec.min !== undefined && n < spec.min) return undefined;
  if (spec.max !== undefined && n > spec.max) return undefined;
  if (spec.above !== undefined && n <= spec.above) return undefined;
  return n;
}

function bad(name: string, spec: FlagSpec, raw: string): never {
  throw new CliError(`--${name} must be ${describeFlag(spec)}, got "${raw}"`);
}

function checkedValue(name: string, spec: FlagSpec, raw: string): unknown {
  if (spec.kind === "boolean" || spec.kind === "repeat") return raw;
  if (spec.kind !== "list") return convert(spec, raw) ?? bad(name, spec, raw);
  const parts = raw.split(",").map((p) => p.trim());
  if (spec.length !== undefined && parts.length !== spec.length) bad(name, spec, raw);
  return parts.map((p) => convert(spec.of, p) ?? bad(name, spec, raw));
}

/** The known flag nearest to a mistyped one (edit distance ≤ 2), for the error line. */
function nearest(name: string, known: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        next[j] = Math.min(
          row[j] + 1,
          next[j - 1] + 1,
          row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
      row = next;
    }
    return row[b.length];
  };
  const best = known.map((k) => ({ k, d: distance(name, k) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? best.k : undefined;
}

/** Whether argv asks for --help (or -h), which wins over every other flag. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === "--help" || a === "-h");
}

/** Parses argv against the table: typed values, or a CliError with the one wording. */
export function parseFlags<const T extends FlagTable>(
  table: T,
  argv: readonly string[],
): FlagValues<T> {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(
      Object.entries(table).map(([name, spec]) => [
        name,
        { type: spec.kind === "boolean" ? ("boolean" as const) : ("string" as const) },
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      throw new CliError(
        `unexpected argument "${token.value}" (flags are --name VALUE; see --help)`,
      );
    }
    const spec = Object.hasOwn(table, token.name) ? table[token.name] : undefined;
    if (!spec) {
      const hint = nearest(token.name, Object.keys(table));
      throw new CliError(
        `Unknown option ${token.rawName}${hint ? `; did you mean --${hint}?` : ""} (see --help)`,
      );
    }
    if (spec.kind === "boolean") {
      if (token.value !== undefined) throw new CliError(`--${token.name} takes no value`);
    } else if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
      throw new CliError(`--${token.name} needs a value (${describeFlag(spec) || spec.help})`);
    }
    given.set(token.name, [...(given.get(token.name) ?? []), token.value ?? "true"]);
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    const raw = given.get(name);
    if (spec.kind === "boolean") values[name] = raw !== undefined;
    else if (spec.kind === "repeat") values[name] = raw ?? [];
    // Given twice: the last one counts (a command line can override what it starts with).
    else if (raw !== undefined) values[name] = checkedValue(name, spec, raw[raw.length - 1]);
    else if (spec.required) {
      const what = spec.kind === "string" || spec.kind === "list" ? spec.help : describe(spec);
      throw new CliError(`--${name} is required (${what})`);
    } else values[name] = spec.default === undefined ? undefined : structuredClone(spec.default);
  }
  return values as FlagValues<T>;
}

export function readFlags<const T extends FlagTable>(
  script: { usage: string; summary: string },
  table: T,
  argv: readonly string[] = process.argv.slice(2),
): FlagValues<T> {
  if (wantsHelp(argv)) {
    process.stdout.write(helpText(script.usage, script.summary, table));
    process.exit(0);
  }
  return parseFlags(table, argv);
}

/** readFlags for a script whose body runs at the top level: a usage error prints `name: message` and exits 2. */
export function readFlagsOrExit<const T extends FlagTable>(
  name: string,
  script: { usage: string; summary: string },
  table: T,
): FlagValues<T> {
  try {
    return readFlags(script, table);
  } catch (error) {
    const { code, text } = failure(name, error);
    process.stderr.write(text);
    process.exit(code);
  }
}
