// Checks in a script's first second that its output can be written (the folder exists or can be
// created, and a file can be made in it), so a long run never fails only when it saves.
import { randomBytes } from "node:crypto";
import { open, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CliError } from "./cli.js";

async function kindOf(path: string): Promise<"file" | "folder" | "missing"> {
  try {
    return (await stat(path)).isDirectory() ? "folder" : "file";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a folder above it is a file, which the walk up names.
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    throw error;
  }
}

/** Creates and removes a probe file in `folder`; the reason when that fails. */
async function probe(folder: string): Promise<string | undefined> {
  const file = join(folder, `.cgnn-write-check-${randomBytes(4).toString("hex")}`);
  try {
    await (await open(file, "wx")).close();
    await rm(file, { force: true });
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "EACCES" || code === "EPERM" || code === "EROFS"
      ? `no permission to write in ${folder}`
      : `cannot write in ${folder} (${code ?? (error as Error).message})`;
  }
}

/**
 * Throws a CliError unless `path` can be written: a file path (`kind: "file"`, its folder is
 * created on save) or a folder (`kind: "folder"`). Creates nothing.
 */
export async function checkWritableOutput(
  path: string,
  { flag, kind }: { flag: string; kind: "file" | "folder" },
): Promise<void> {
  const fail = (reason: string): never => {
    throw new CliError(`--${flag} must be a path that can be written, got "${path}" (${reason})`);
  };
  if (path.trim() === "") fail("empty");
  const target = resolve(path);
  const found = await kindOf(target);
  if (kind === "file" && found === "folder") fail(`${target} is a folder`);
  if (kind === "folder" && found === "file") fail(`${target} is not a folder`);
  let folder = kind === "file" ? dirname(target) : target;
  for (;;) {
    const k = await kindOf(folder);
    if (k === "folder") break;
    if (k === "file") fail(`${folder} is not a folder`);
    const parent = dirname(folder);
    if (parent === folder) fail("no existing folder above it");
    folder = parent;
  }
  const reason = await probe(folder);
  if (reason) fail(reason);
}
