// What the manifest records about how a model was made (training commands, run and checkpoint paths) stays
// on the server unless CGNN_EXPOSE_PROVENANCE is set: it tells an outsider the file layout and the recipe.

/**
 * A path on the training machine: absolute or ./-relative, under a run/model/data directory, or a
 * checkpoint, model or data file name (labels such as "T-shirt/top" are none of these).
 */
export function isPath(value: string): boolean {
  if (/\s/.test(value)) return false;
  return (
    /^(\/|\.{1,2}\/|~\/|[A-Za-z]:\\)/.test(value) ||
    /^(runs|models|data|checkpoints?)\//.test(value) ||
    /\.(safetensors|onnx|json|pt|pth|ckpt|bin|npz|gz)$/i.test(value)
  );
}

/** A copy of manifest metrics or data without `command` fields and path strings (objects and arrays walked). */
export function withoutProvenance<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.filter((v) => !(typeof v === "string" && isPath(v))).map(withoutProvenance) as T;
  }
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === "command" || (typeof v === "string" && isPath(v))) continue;
    out[key] = withoutProvenance(v);
  }
  return out as T;
}
