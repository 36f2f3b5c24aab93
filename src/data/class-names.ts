// Class names from a text file beside the data (IDX labels.txt, CIFAR-10 batches.meta.txt): one
// name per line, blank lines ignored, checked against the labels the data uses.
import { readFile } from "node:fs/promises";
import { DataError } from "./errors.js";

/** The names in `file`, or undefined when it does not exist; `needed` = the largest label + 1. */
export async function readClassNames(file: string, needed: number): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new DataError(file, `cannot read (${code ?? e})`);
  }
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
  if (names.length < needed) {
    throw new DataError(file, `${names.length} class names, but the labels need ${needed}`);
  }
  if (names.length > 256) throw new DataError(file, `${names.length} class names; at most 256`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new DataError(file, `class name "${name}" appears twice`);
    seen.add(name);
  }
  return names;
}
