// What a loaded model looks like to clients: the shared description behind /v1/models and the KServe metadata.
import { withoutProvenance } from "../provenance.js";
import type { LoadedModel } from "../serving-set.js";

/** `exposeProvenance` false (the default): metrics and data without training commands and run paths. */
export function describeModel(m: LoadedModel, exposeProvenance = false) {
  const keep = <T>(value: T): T => (exposeProvenance ? value : withoutProvenance(value));
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
    metrics: keep(m.entry.metrics),
    data: keep(m.entry.data ?? null),
    createdAt: m.entry.createdAt ?? null,
  };
}
