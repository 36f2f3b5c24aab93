// A structural ONNX checker following the official checker's graph rules: typed graph inputs
// and outputs, unique names, initializers that match their shapes, nodes in topological order.
import { FLOAT, INT64, type ModelProto, tensorElementCount, type ValueInfoProto } from "./proto.js";

function typed(v: ValueInfoProto): boolean {
  const t = v.type?.tensorType;
  return !!t && !!t.elemType && !!t.shape?.dim?.every((d) => d.dimParam || Number(d.dimValue) > 0);
}

/** Returns every rule the model breaks (empty when valid). */
export function checkModel(model: ModelProto): string[] {
  const errors: string[] = [];
  const ir = Number(model.irVersion ?? 0);
  if (ir < 3) errors.push(`ir_version ${ir} is missing or too old`);
  const defaultOpset = model.opsetImport?.find((o) => !o.domain);
  if (!defaultOpset || Number(defaultOpset.version) < 1) errors.push("no default-domain opset");
  const graph = model.graph;
  if (!graph) return [...errors, "model has no graph"];
  const available = new Set<string>();
  const nodeNames = new Set<string>();
  for (const input of graph.input ?? []) {
    if (!input.name) errors.push("graph input without a name");
    else if (available.has(input.name)) errors.push(`duplicate graph input ${input.name}`);
    if (!typed(input)) errors.push(`graph input ${input.name} is not a typed tensor`);
    available.add(input.name ?? "");
  }
  for (const init of graph.initializer ?? []) {
    const name = init.name ?? "";
    if (!name) errors.push("initializer without a name");
    if (available.has(name)) errors.push(`duplicate value name ${name} (initializer)`);
    available.add(name);
    if (init.dataType !== FLOAT && init.dataType !== INT64) {
      errors.push(`initializer ${name} has unsupported type ${init.dataType}`);
    }
    const size = (init.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
    if (tensorElementCount(init) !== size) {
      errors.push(
        `initializer ${name}: ${tensorElementCount(init)} values for dims [${init.dims}]`,
      );
    }
  }
  for (const node of graph.node ?? []) {
    if (!node.opType) errors.push(`node ${node.name} has no op type`);
    if (node.name) {
      if (nodeNames.has(node.name)) errors.push(`duplicate node name ${node.name}`);
      nodeNames.add(node.name);
    }
    for (const input of node.input ?? []) {
      if (input && !available.has(input)) {
        errors.push(
          `node ${node.name} (${node.opType}) reads ${input}, produced by no earlier node`,
        );
      }
    }
    for (const output of node.output ?? []) {
      if (!output) continue;
      if (available.has(output)) errors.push(`value ${output} is assigned more than once`);
      available.add(output);
    }
  }
  const outputs = graph.output ?? [];
  if (outputs.length === 0) errors.push("graph has no outputs");
  for (const output of outputs) {
    if (!typed(output)) errors.push(`graph output ${output.name} is not a typed tensor`);
    if (!available.has(output.name ?? ""))
      errors.push(`graph output ${output.name} is never produced`);
  }
  return errors;
}

export function assertValidModel(model: ModelProto, source = "ONNX model"): void {
  const errors = checkModel(model);
  if (errors.length) throw new Error(`${source} is invalid: ${errors.join("; ")}`);
}
