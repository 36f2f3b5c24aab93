// The metadata a cgnn ONNX model carries (metadata_props), written by the exporter and read
// back by the runtime, so the service trusts the model file itself for shapes and labels.
import type { ModelSpec } from "../nn/spec.js";

export const ONNX_FORMAT = "cgnn-onnx/1";

export interface OnnxModelMetadata {
  format: string;
  name: string;
  version: string;
  role: "embedder" | "classifier";
  labels: string[];
  input: {
    name: string;
    shape: [number, number, number];
    layout: "NHWC";
    range: [number, number];
    preprocessing: Record<string, unknown>;
  };
  outputs: { name: string; shape: number[] }[];
  metrics: Record<string, unknown>;
  data: unknown;
  weightsSha256: string;
  spec: ModelSpec;
  createdAt: string;
  command?: string;
}

const JSON_KEYS = ["labels", "input", "outputs", "metrics", "data", "spec"] as const;

export function metadataToProps(meta: OnnxModelMetadata): { key: string; value: string }[] {
  const props: { key: string; value: string }[] = [];
  for (const [key, value] of Object.entries(meta)) {
    if (value === undefined) continue;
    const json = (JSON_KEYS as readonly string[]).includes(key);
    props.push({ key, value: json ? JSON.stringify(value) : String(value) });
  }
  return props;
}

/** Parses metadata_props back; throws naming `source` when a field is missing or malformed. */
export function propsToMetadata(
  props: { key?: string | null; value?: string | null }[],
  source: string,
): OnnxModelMetadata {
  const map = new Map(props.map((p) => [p.key ?? "", p.value ?? ""]));
  if (map.get("format") !== ONNX_FORMAT) {
    throw new Error(`${source}: not a cgnn ONNX model (metadata format is ${map.get("format")})`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of map) {
    if ((JSON_KEYS as readonly string[]).includes(key)) {
      try {
        out[key] = JSON.parse(value);
      } catch {
        throw new Error(`${source}: metadata ${key} is not valid JSON`);
      }
    } else {
      out[key] = value;
    }
  }
  for (const key of ["name", "version", "role", "input", "outputs", "spec", "weightsSha256"]) {
    if (out[key] === undefined) throw new Error(`${source}: metadata lacks ${key}`);
  }
  return out as unknown as OnnxModelMetadata;
}
