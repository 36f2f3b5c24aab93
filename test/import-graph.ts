// The modules a source file reaches at run time (static imports except `import type`, dynamic import() of literals, and worker
// entries given as new URL("./x.ts", import.meta.url)), and the npm packages they import.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

/** `import type` / `export type` declarations, which the compiler erases. */
const TYPE_ONLY = /(?:import|export)\s+type\s[^;]*?from\s+"[^"]+";/gs;
const IMPORT = /(?:from\s+|import\s*\(\s*|import\s+)"([^"]+)"|new URL\("(\.[^"]+)"/g;

function resolveLocal(from: string, spec: string): string {
  const path = normalize(join(dirname(from), spec));
  const candidates = path.endsWith(".js") ? [`${path.slice(0, -3)}.ts`, path] : [path];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`${from}: cannot resolve ${spec}`);
  return found;
}

/** Package name of a bare specifier ("@scope/name/x" → "@scope/name"); undefined for node:. */
function packageName(spec: string): string | undefined {
  if (spec.startsWith("node:")) return undefined;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

export function importGraph(entries: string[]): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (modules.has(file)) continue;
    modules.add(file);
    const code = readFileSync(file, "utf8").replace(TYPE_ONLY, "");
    for (const m of code.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      // new URL() also names data (a directory, JSON, an image): only modules are followed.
      if (m[2] !== undefined && !/\.[cm]?[jt]s$/.test(spec)) continue;
      if (spec.startsWith(".")) stack.push(resolveLocal(file, spec));
      else {
        const name = packageName(spec);
        if (name) packages.add(name);
      }
    }
  }
  return { modules, packages };
}
