// onnxruntime's com.microsoft.nchwc domain as graph pieces shared by the distillation forward,
// the training step and the block-size probe: the domain name, a node in it, the probe's model.
import { IR_VERSION } from "../../onnx/export.js";
import { GraphBuilder } from "../../onnx/graph-builder.js";
import { type AttrValue, encodeModel } from "../../onnx/proto.js";

export const NCHWC_DOMAIN = "com.microsoft.nchwc";

/** Adds one node of the NCHWc domain and returns its output's name. */
export function nchwcOp(
  g: GraphBuilder,
  opType: string,
  inputs: string[],
  attrs: Record<string, AttrValue>,
  base: string,
): string {
  const out = g.op(opType, inputs, attrs, base);
  const node = g.nodes.at(-1);
  if (node) node.domain = NCHWC_DOMAIN;
  return out;
}

/**
 * The block-size probe: ReorderInput of a [1, 4, 1, 1] input `x`, which pads the 4 channels to
 * one block, so the output's channel count is the block size.
 */
export function nchwcProbeModel(): { bytes: Uint8Array; output: string } {
  const g = new GraphBuilder();
  const x = g.input("x", [1, 4, 1, 1]);
  const y = nchwcOp(g, "ReorderInput", [x], {}, "y");
  g.output(y, "y", [1, "C", 1, 1]);
  const output = g.outputs.at(-1)?.name ?? "y";
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: "", version: 17 },
      { domain: NCHWC_DOMAIN, version: 1 },
    ],
    producerName: "cgnn-nchwc-probe",
    producerVersion: "1",
    graph: g.graph("nchwc-probe"),
  });
  return { bytes, output };
}
