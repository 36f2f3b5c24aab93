// Builds and sends an infer response: JSON data, or the binary tensor data extension's JSON header followed by
// the tensors' bytes (FP32 little-endian; BYTES as 4-byte length-prefixed strings), as the request asked.
import type { Response } from "express";
import { badRequest } from "../errors.js";
import type { InferRequest } from "./contract.js";

export interface OutputTensor {
  name: string;
  datatype: "FP32" | "BYTES";
  shape: number[];
  values: Float32Array | string[];
  binary: boolean;
}

/** Whether an output is to be sent as binary data: its own binary_data, else the request's binary_data_output. */
export function wantsBinary(
  request: Pick<InferRequest, "parameters">,
  parameters: Record<string, unknown> | undefined,
  output: string,
): boolean {
  const own = parameters?.binary_data;
  const all = request.parameters?.binary_data_output;
  for (const [key, value] of [
    [`outputs ${output}: parameters.binary_data`, own],
    ["parameters.binary_data_output", all],
  ] as const) {
    if (value !== undefined && typeof value !== "boolean") {
      throw badRequest("bad_parameter", `${key} must be true or false`);
    }
  }
  return (own ?? all ?? false) as boolean;
}

function tensorBytes(t: OutputTensor): Buffer {
  if (t.values instanceof Float32Array) {
    const bytes = Buffer.alloc(t.values.length * 4);
    for (let i = 0; i < t.values.length; i++) bytes.writeFloatLE(t.values[i], i * 4);
    return bytes;
  }
  return Buffer.concat(
    t.values.flatMap((s) => {
      const text = Buffer.from(s, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32LE(text.length);
      return [length, text];
    }),
  );
}

export function sendInferResponse(
  res: Response,
  head: { model_name: string; model_version: string; id?: string },
  outputs: OutputTensor[],
): void {
  const chunks: Buffer[] = [];
  const json = {
    ...head,
    outputs: outputs.map((t) => {
      const meta = { name: t.name, datatype: t.datatype, shape: t.shape };
      if (!t.binary) return { ...meta, data: Array.from(t.values as ArrayLike<number | string>) };
      const bytes = tensorBytes(t);
      chunks.push(bytes);
      return { ...meta, parameters: { binary_data_size: bytes.length } };
    }),
  };
  if (chunks.length === 0) {
    res.json(json);
    return;
  }
  const header = Buffer.from(JSON.stringify(json), "utf8");
  res
    .type("application/octet-stream")
    .setHeader("Inference-Header-Content-Length", String(header.length))
    .send(Buffer.concat([header, ...chunks]));
}
