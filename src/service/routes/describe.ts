// What a loaded model looks like to clients: the shared description behind /v1/models and the KServe metadata.
import type { LoadedModel } from "../serving-set.js";

export function describeModel(m: LoadedModel) {
  return {
    name: m.name,
    version: m.entry.version,
    role: m.entry.role,
    format: m.entry.format,
    sha256: m.entry.sha256,
    inputs: [
      {
        name: m.engine.metadata.input.name,
        shape: ["batch", ...m.engine.inputShape],
        layout: m.entry.input.layout,
        range: m.entry.input.range,
        preprocessing: m.entry.input.preprocessing,
      },
    ],
    outputs: [{ name: m.output, shape: ["batch", ...m.entry.output.shape] }],
    labels: m.entry.labels,
    metrics: m.entry.metrics,
    data: m.entry.data ?? null,
    createdAt: m.entry.createdAt ?? null,
  };
}
