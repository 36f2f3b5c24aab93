// Finds the classes and image files of an ImageFolder directory (one sub-folder per class, the
// folder name is the class name; optional train/ and test/ or val/ splits), with one clear line per problem.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { DataError } from "./errors.js";

export interface FolderFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the data folder (what the cache key records). */
  rel: string;
  size: number;
  mtimeMs: number;
  label: number;
  /** The split folder it came from; absent when the folder has no train/ and test/. */
  split?: "train" | "test";
}

export interface FolderScan {
  dir: string;
  classes: string[];
  files: FolderFile[];
  /** True when the folder holds train/ and test/ (or val/) sub-folders. */
  presplit: boolean;
}

/** Files that are never images: hidden files (the cache, .DS_Store) and label/notes text. */
function ignored(name: string): boolean {
  return name.startsWith(".") || /\.(txt|md|json|csv|safetensors)$/i.test(name);
}

async function subfolders(dir: string): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(dir, code === "ENOENT" ? "folder not found" : `cannot read (${code})`);
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
}

async function classFiles(
  root: string,
  relRoot: string,
  classes: string[],
  split?: "train" | "test",
): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  for (const [label, name] of classes.entries()) {
    const dir = join(root, name);
    const names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && !ignored(e.name))
      .map((e) => e.name)
      .sort();
    if (names.length === 0) throw new DataError(dir, `class "${name}" holds no images`);
    for (const file of names) {
      const path = join(dir, file);
      const info = await stat(path);
      out.push({
        path,
        rel: join(relRoot, name, file),
        size: info.size,
        mtimeMs: info.mtimeMs,
        label,
        ...(split ? { split } : {}),
      });
    }
  }
  return out;
}

/** Lists an ImageFolder directory; throws a DataError naming the folder for every layout problem. */
export async function scanImageFolder(dir: string): Promise<FolderScan> {
  const top = await subfolders(dir);
  const testName = top.includes("test") ? "test" : top.includes("val") ? "val" : undefined;
  const presplit = top.includes("train") && testName !== undefined;
  const classes = presplit ? await subfolders(join(dir, "train")) : top;
  if (classes.length === 0) {
    throw new DataError(dir, "no class folders: expected one sub-folder of images per class");
  }
  if (classes.length === 1) {
    throw new DataError(dir, `only one class ("${classes[0]}"); a classifier needs at least 2`);
  }
  if (classes.length > 256) {
    throw new DataError(dir, `${classes.length} classes; at most 256 are supported`);
  }
  if (!presplit) {
    return { dir, classes, files: await classFiles(dir, "", classes), presplit };
  }
  const testDir = join(dir, testName as string);
  const testClasses = await subfolders(testDir);
  const unknown = testClasses.filter((c) => !classes.includes(c));
  if (unknown.length) {
    throw new DataError(testDir, `classes ${unknown.join(", ")} are not in ${join(dir, "train")}`);
  }
  const train = await classFiles(join(dir, "train"), "train", classes, "train");
  const present = classes.filter((c) => testClasses.includes(c));
  const test = (await classFiles(testDir, testName as string, present, "test")).map((f) => ({
    ...f,
    label: classes.indexOf(present[f.label]),
  }));
  return { dir, classes, files: [...train, ...test], presplit };
}
