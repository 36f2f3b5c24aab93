// The NCHWc block size of this CPU's onnxruntime kernels (16 with AVX-512, 8 with AVX2), found
// once per process by running its ReorderInput on 4 channels, which pads them to one block.
import { IR_VERSION } from "../../onnx/export.js";
import { GraphBuilder } from "../../onnx/graph-builder.js";
import { encodeModel } from "../../onnx/proto.js";
import { ort } from "./engine.js";
import { NCHWC_DOMAIN } from "./nchwc-forward.js";

let probed: Promise<number | undefined> | undefined;

/** The block size, or undefined where onnxruntime has no NCHWc kernels (or refuses them). */
export function nchwcBlockSize(): Promise<number | undefined> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<number | undefined> {
  const g = new GraphBuilder();
  const x = g.input("x", [1, 4, 1, 1]);
  const y = g.op("ReorderInput", [x], {}, "y");
  const node = g.nodes.at(-1);
  if (node) node.domain = NCHWC_DOMAIN;
  g.output(y, "y", [1, "C", 1, 1]);
  const outName = g.outputs.at(-1)?.name ?? "y";
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
  try {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      const out = await session.run({
        x: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]),
      });
      const block = Number(out[outName].dims[1]);
      return block > 1 ? block : undefined;
    } finally {
      await session.release();
    }
  } catch {
    return undefined;
  }
}
