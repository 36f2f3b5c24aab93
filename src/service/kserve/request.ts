// Parses and checks an infer request before any work: the JSON against its zod schema (tensors set aside),
// the requested outputs and their extension parameters, and the input's values (JSON data or binary bytes).
import { badRequest } from "../errors.js";
import type { LoadedModel } from "../serving-set.js";
import { classificationCount } from "./classification.js";
import { InferRequest } from "./contract.js";
import { wantsBinary } from "./response.js";
import { binaryData, flattenData } from "./tensor.js";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Validates the request with its zod schema, the inputs' `data` set aside first so that no schema walks a
 * tensor (the tensor walk is capped by the shape, in flattenData); data must then be an array.
 */
export function parseRequest(json: unknown): InferRequest {
  const inputs = isRecord(json) && Array.isArray(json.inputs) ? json.inputs : undefined;
  const data = inputs?.map((input) => (isRecord(input) ? input.data : undefined));
  const withoutData = inputs
    ? {
        ...(json as Record<string, unknown>),
        inputs: inputs.map((input) => {
          if (!isRecord(input)) return input;
          const { data: _, ...rest } = input;
          return rest;
        }),
      }
    : json;
  const result = InferRequest.safeParse(withoutData);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw badRequest("bad_body", `${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  result.data.inputs.forEach((input, i) => {
    const values = data?.[i];
    if (values !== undefined && !Array.isArray(values)) {
      throw badRequest("bad_body", `inputs.${i}.data: expected an array of numbers`);
    }
    if (values !== undefined) input.data = values;
  });
  return result.data;
}

/** The input's values from JSON `data` or, with binary_data_size, from the bytes after the JSON header. */
export function inputValues(
  input: InferRequest["inputs"][number],
  binary: Buffer,
  size: number,
  rank: number,
) {
  const bytes = input.parameters?.binary_data_size;
  if (bytes === undefined) {
    if (binary.length > 0) {
      throw badRequest(
        "bad_tensor",
        `${binary.length} binary bytes follow the JSON, but no input has binary_data_size`,
      );
    }
    if (!input.data)
      throw badRequest("bad_tensor", `input ${input.name}: has neither data nor binary_data_size`);
    return flattenData(input.data, size, rank, input.name);
  }
  if (input.data !== undefined) {
    throw badRequest("bad_tensor", `input ${input.name}: has both data and binary_data_size`);
  }
  if (bytes !== binary.length) {
    throw badRequest(
      "bad_tensor",
      `input ${input.name}: binary_data_size ${JSON.stringify(bytes)} differs from the ${binary.length} bytes after the JSON header`,
    );
  }
  return binaryData(binary, size, input.name);
}

export interface PlannedOutput {
  name: string;
  binary: boolean;
  classification?: number;
}

/** Checks the requested outputs before any work; none requested means the model's one output. */
export function planOutputs(request: InferRequest, m: LoadedModel): PlannedOutput[] {
  const requested = request.outputs ?? [{ name: m.output }];
  return requested.map(({ name, parameters }) => {
    if (name !== m.output) {
      throw badRequest("bad_output", `output ${name}: model ${m.name} has one output, ${m.output}`);
    }
    return {
      name,
      binary: wantsBinary(request, parameters, name),
      classification: classificationCount(parameters, name),
    };
  });
}
