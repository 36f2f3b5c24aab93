// One declarative flag table per script: from it come the typed values, the generated --help,
// one wording for every bad value and one exit code (2) for usage errors (see cli.ts).
import { parseArgs } from "node:util";
import { CliError } from "./cli.js";

interface Described {
  /** One line for --help. */
  help: string;
  /** The value's placeholder in --help (default: N, X, NAME or the choices). */
  arg?: string;
}
interface Bounds {
  min?: number;
  max?: number;
  /** Values must be strictly greater than this. */
  above?: number;
}

/** What one value (or one element of a list) may be. */
export type ElementSpec =
  | ({ kind: "int" } & Bounds)
  | ({ kind: "number" } & Bounds)
  | { kind: "string" }
  | { kind: "choice"; choices: readonly string[] };

export type FlagSpec =
  | (ElementSpec & Described & { default?: number | string; required?: boolean })
  | ({ kind: "boolean" } & Described)
  | ({ kind: "repeat" } & Described)
  | ({
      kind: "list";
      of: ElementSpec;
      /** Exactly this many elements. */
      length?: number;
      default?: readonly (number | string)[];
      required?: boolean;
    } & Described);

export type FlagTable = Record<string, FlagSpec>;

type ElementValue<E> = E extends { kind: "int" | "number" }
  ? number
  : E extends { kind: "choice"; choices: readonly (infer C)[] }
    ? C
    : string;
type Always<F> = F extends { default: unknown }
  ? true
  : F extends { required: true }
    ? true
    : false;
type FlagValue<F> = F extends { kind: "boolean" }
  ? boolean
  : F extends { kind: "repeat" }
    ? string[]
    : F extends { kind: "list"; of: infer E }
      ? Always<F> extends true
        ? ElementValue<E>[]
        : ElementValue<E>[] | undefined
      : Always<F> extends true
        ? ElementValue<F>
        : ElementValue<F> | undefined;

/** The typed values of a table: `--fan-ins` becomes `values["fan-ins"]`. */
export type FlagValues<T extends FlagTable> = { -readonly [K in keyof T]: FlagValue<T[K]> };

type Options<F> = Omit<F, "kind" | "help">;

/** An integer flag, e.g. `int("worker threads", { default: 2, min: 1 })`. */
export const int = <const O extends Options<Extract<FlagSpec, { kind: "int" }>>>(
  help: string,
  options?: O,
) => ({ kind: "int" as const, help, ...(options as O) });
/** A finite number flag. */
export const number = <const O extends Options<Extract<FlagSpec, { kind: "number" }>>>(
  help: string,
  options?: O,
) => ({ kind: "number" as const, help, ...(options as O) });
/** A free-form string flag (a path, a name). */
export const string = <const O extends Options<Extract<FlagSpec, { kind: "string" }>>>(
  help: string,
  options?: O,
) => ({ kind: "string" as const, help, ...(options as O) });
/** One of a fixed set of values. */
export const choice = <
  const C extends readonly string[],
  const O extends Omit<Options<Extract<FlagSpec, { kind: "choice" }>>, "choices">,
>(
  choices: C,
  help: string,
  options?: O,
) => ({ kind: "choice" as const, choices, help, ...(options as O) });
/** A switch: present or not. */
export const boolean = (help: string) => ({ kind: "boolean" as const, help });
/** A flag that may be given several times; every value, in order (none: []). */
export const repeat = (help: string, arg?: string) => ({ kind: "repeat" as const, help, arg });
/** A comma-separated list, each element checked as `of`. */
export const list = <
  const E extends ElementSpec,
  const O extends Omit<Options<Extract<FlagSpec, { kind: "list" }>>, "of">,
>(
  of: E,
  help: string,
  options?: O,
) => ({ kind: "list" as const, of, help, ...(options as O) });

function describeBounds(noun: string, b: Bounds): string {
  if (b.min !== undefined && b.max !== undefined) return `${noun} in ${b.min}..${b.max}`;
  if (b.above !== undefined)
    return `${noun} > ${b.above}${b.max === undefined ? "" : ` and ≤ ${b.max}`}`;
  if (b.min !== undefined) return `${noun} ≥ ${b.min}`;
  if (b.max !== undefined) return `${noun} ≤ ${b.max}`;
  return noun;
}

/** What a value must be, as the one error wording says it: "an integer ≥ 1", "one of a, b". */
export function describe(spec: ElementSpec): string {
  switch (spec.kind) {
    case "int":
      return describeBounds("an integer", spec);
    case "number":
      return describeBounds("a number", spec);
    case "choice":
      return `one of ${spec.choices.join(", ")}`;
    case "string":
      return "a non-empty string";
  }
}

function describeFlag(spec: FlagSpec): string {
  if (spec.kind === "boolean" || spec.kind === "repeat") return "";
  if (spec.kind !== "list") return describe(spec);
  const each = `(each ${describe(spec.of)})`;
  return spec.length === undefined
    ? `a comma-separated list ${each}`
    : `${spec.length} comma-separated values ${each}`;
}

/** One value checked against its spec; undefined when it does not fit. */
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

function placeholder(spec: FlagSpec): string {
  if (spec.kind === "boolean") return "";
  if (spec.arg) return ` ${spec.arg}`;
  if (spec.kind === "choice") return ` ${spec.choices.join("|")}`;
  if (spec.kind === "list")
    return spec.of.kind === "choice" ? ` ${spec.of.choices.join(",")}` : " A,B,…";
  if (spec.kind === "int") return " N";
  if (spec.kind === "number") return " X";
  return " VALUE";
}

function notes(spec: FlagSpec): string {
  const parts: string[] = [];
  if (spec.kind === "list") parts.push(describeFlag(spec));
  else if (spec.kind === "int" || spec.kind === "number") parts.push(describe(spec));
  else if (spec.kind === "repeat") parts.push("repeatable");
  if ("required" in spec && spec.required) parts.push("required");
  if ("default" in spec && spec.default !== undefined) {
    const d = spec.default;
    parts.push(`default ${Array.isArray(d) ? d.join(",") : d}`);
  }
  return parts.length ? ` [${parts.join("; ")}]` : "";
}

/** The generated --help: usage line, what the script does, then one line per flag. */
export function helpText(usage: string, summary: string, table: FlagTable): string {
  const rows = Object.entries(table).map(([name, spec]) => [
    `--${name}${placeholder(spec)}`,
    `${spec.help}${notes(spec)}`,
  ]);
  rows.push(["--help", "this text"]);
  const width = Math.min(32, Math.max(...rows.map(([left]) => left.length)));
  const lines = rows.map(([left, right]) =>
    left.length > width
      ? `  ${left}\n  ${" ".repeat(width)}  ${right}`
      : `  ${left.padEnd(width)}  ${right}`,
  );
  return `usage: ${usage}\n${summary}\n\nflags:\n${lines.join("\n")}\n`;
}

/** A script's flags: prints --help and exits 0 when asked, else parses (CliError → exit 2). */
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
