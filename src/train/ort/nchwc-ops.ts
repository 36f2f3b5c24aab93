// onnxruntime's com.microsoft.nchwc domain as graph pieces shared by the distillation forward,
// the training step and the block-size probe: the domain name, a node in it, which convs fit
// its kernels and a blocked conv, the probe's model.
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
 * Whether a conv with `cin` input and `f` output channels runs on the NCHWc kernels with block
 * size `block`: whole blocks of outputs, and of inputs from 8 channels on (below 8, the kernel
 * reads the input in NCHW) (the training step and the distillation forward alike).
 */
export function nchwcConvFits(cin: number, f: number, block: number | undefined): boolean {
  if (!(block !== undefined && block > 1)) return false;
  return f % block === 0 && (cin < 8 || cin % block === 0);
}

/**
 * A conv of the NCHW value `x` ([N, cin, H, W]) with a blocked filter, as an NCHW value of `f`
 * channels: ReorderInput (from 8 input channels), the NCHWc Conv, ReorderOutput.
 */
export function nchwcConv(
  g: GraphBuilder,
  x: string,
  cin: number,
  f: number,
  filter: string,
  bias: string | undefined,
  attrs: Record<string, AttrValue>,
  base: string,
): string {
  const input = cin >= 8 ? nchwcOp(g, "ReorderInput", [x], {}, `${base}_in`) : x;
  const inputs = bias ? [input, filter, bias] : [input, filter];
  const y = nchwcOp(g, "Conv", inputs, attrs, `${base}_nchwc`);
  return nchwcOp(g, "ReorderOutput", [y], { channels: f }, base);
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
