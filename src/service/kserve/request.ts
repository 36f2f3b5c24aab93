// Parses and checks an infer request before any work: the JSON against its zod schema (tensors lifted out),
// the requested outputs and their extension parameters, and the input's values (JSON data or binary bytes).
import { badRequest } from "../errors.js";
import type { LoadedModel } from "../serving-set.js";
import { classificationCount } from "./classification.js";
import { InferRequest } from "./contract.js";
import type { DecodedTensor } from "./decode.js";
import { wantsBinary } from "./response.js";
import { binaryData } from "./tensor.js";

/** Validates the request (its inputs' data already lifted out by decodeInferJson) with its zod schema. */
export function parseRequest(json: unknown): InferRequest {
  const result = InferRequest.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw badRequest("bad_body", `${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  return result.data;
}

/** The input's values from JSON `data` or, with binary_data_size, from the bytes after the JSON header. */
export function inputValues(
  input: InferRequest["inputs"][number],
  tensor: DecodedTensor,
  binary: Buffer,
  size: number,
): Float32Array {
  const bytes = input.parameters?.binary_data_size;
  if (bytes === undefined) {
    if (binary.length > 0) {
      throw badRequest(
        "bad_tensor",
        `${binary.length} binary bytes follow the JSON, but no input has binary_data_size`,
      );
    }
    if (!tensor) {
      throw badRequest("bad_tensor", `input ${input.name}: has neither data nor binary_data_size`);
    }
    if ("error" in tensor) throw badRequest("bad_tensor", tensor.error);
    if (tensor.values.length !== size) {
      throw badRequest(
        "bad_tensor",
        `input ${input.name}: data has ${tensor.values.length} values, the shape needs ${size}`,
      );
    }
    return tensor.values;
  }
  if (tensor !== undefined) {
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
