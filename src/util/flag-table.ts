// The shape of a script's flag table: the kinds of flag, the builders a script's table is
// written with, the value types TypeScript infers from it, and how each kind is worded.
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

export function describeFlag(spec: FlagSpec): string {
  if (spec.kind === "boolean" || spec.kind === "repeat") return "";
  if (spec.kind !== "list") return describe(spec);
  const each = `(each ${describe(spec.of)})`;
  return spec.length === undefined
    ? `a comma-separated list ${each}`
    : `${spec.length} comma-separated values ${each}`;
}

/** One value checked against its spec; undefined when it does not fit. */
