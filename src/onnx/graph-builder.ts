// Builds an ONNX graph node by node with unique value names, so layer emitters only say
// which op consumes which value.
import {
  type AttrValue,
  attribute,
  type Dim,
  floatTensor,
  type GraphProto,
  int64Tensor,
  type NodeProto,
  type TensorProto,
  tensorValueInfo,
  type ValueInfoProto,
} from "./proto.js";

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly int64Cache = new Map<string, string>();

  /** A fresh value name based on `base`. */
  name(base: string): string {
    let candidate = base;
    for (let i = 1; this.used.has(candidate); i++) candidate = `${base}_${i}`;
    this.used.add(candidate);
    return candidate;
  }

  input(name: string, dims: Dim[]): string {
    const n = this.name(name);
    this.inputs.push(tensorValueInfo(n, dims));
    return n;
  }

  output(value: string, name: string, dims: Dim[]): void {
    const n = this.name(name);
    this.op("Identity", [value], {}, n, n);
    this.outputs.push(tensorValueInfo(n, dims));
  }

  float(base: string, dims: number[], data: Float32Array): string {
    const n = this.name(base);
    this.initializers.push(floatTensor(n, dims, data));
    return n;
  }

  /** An INT64 constant (shapes, axes, indices), shared between nodes when equal. */
  int64(base: string, data: number[], dims: number[] = [data.length]): string {
    const key = `${dims}|${data}`;
    const cached = this.int64Cache.get(key);
    if (cached) return cached;
    const n = this.name(base);
    this.initializers.push(int64Tensor(n, dims, data));
    this.int64Cache.set(key, n);
    return n;
  }

  /** Adds one node and returns its (single) output's name. */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outBase = opType.toLowerCase(),
    fixedName?: string,
  ): string {
    const output = fixedName ?? this.name(outBase);
    this.nodes.push({
      opType,
      name: output,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  graph(name: string): GraphProto {
    return {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }
}
