// Parses an infer request's JSON and lifts each input's `data` out of it as a Float32Array, walking it with
// the cap its own shape allows: pure, so it runs inline for small bodies and in a worker for large ones.
import { HttpError } from "../errors.js";
import { flattenData } from "./tensor.js";

/** An input's values, or why its data cannot be the tensor it claims (thrown after the header checks). */
export type DecodedTensor = { values: Float32Array } | { error: string } | undefined;

export interface DecodedRequest {
  /** The request with every input's `data` removed. */
  json: unknown;
  /** Per input, in order: its data's values (undefined when it had no `data`). */
  tensors: DecodedTensor[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function declaredSize(shape: unknown): number | undefined {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return undefined;
  return (shape as number[]).reduce((a, b) => a * b, 1);
}

function decodeTensor(input: Record<string, unknown>, i: number, maxValues: number): DecodedTensor {
  const { data } = input;
  if (data === undefined) return undefined;
  if (!Array.isArray(data)) return { error: `inputs.${i}.data: expected an array of numbers` };
  const size = declaredSize(input.shape);
  // A bad shape or datatype is refused by the header checks before this error is ever shown.
  if (size === undefined || size > maxValues || input.datatype !== "FP32") {
    return { error: `input ${String(input.name)}: data not read (bad shape or datatype)` };
  }
  try {
    return {
      values: flattenData(data, size, (input.shape as number[]).length, String(input.name)),
    };
  } catch (error) {
    if (error instanceof HttpError) return { error: error.message };
    throw error;
  }
}

/** Throws HttpError 400 bad_json for bytes that are not JSON. */
export function decodeInferJson(bytes: Uint8Array, maxValues: number): DecodedRequest {
  let json: unknown;
  try {
    json = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
    );
  } catch (error) {
    throw new HttpError(
      400,
      "bad_json",
      `the inference request is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!isRecord(json) || !Array.isArray(json.inputs)) return { json, tensors: [] };
  const tensors: DecodedTensor[] = [];
  const inputs = json.inputs.map((input, i) => {
    if (!isRecord(input)) return input;
    tensors[i] = decodeTensor(input, i, maxValues);
    const { data: _, ...rest } = input;
    return rest;
  });
  return { json: { ...json, inputs }, tensors };
}
