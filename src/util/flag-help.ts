// The generated --help of a flag table: a usage line, what the script does, one line per flag.
import { describe, describeFlag, type FlagSpec, type FlagTable } from "./flag-table.js";

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
