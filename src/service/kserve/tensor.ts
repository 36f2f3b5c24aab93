// Turns one protocol input tensor into the model's Float32Array: name, datatype and shape are checked first,
// then the JSON data is walked iteratively with a cap of the values the shape allows (or the binary bytes read).
import { badRequest } from "../errors.js";
import type { LoadedModel } from "../serving-set.js";
import type { InferRequest } from "./contract.js";
import { SUPPORTED_INPUT_DATATYPES } from "./contract.js";

type Input = InferRequest["inputs"][number];

export interface ModelTensor {
  values: Float32Array;
  /** The batch size (first dimension). */
  n: number;
}

/** Checks name, datatype and shape against the model before any data is read; returns the batch size. */
export function checkInputHeader(input: Input, m: LoadedModel, maxBatch: number): number {
  const expected = m.engine.metadata.input.name;
  if (input.name !== expected) {
    throw badRequest(
      "bad_tensor",
      `input ${input.name}: model ${m.name} has one input, ${expected}`,
    );
  }
  if (!(SUPPORTED_INPUT_DATATYPES as readonly string[]).includes(input.datatype)) {
    throw badRequest(
      "bad_datatype",
      `input ${input.name}: datatype ${input.datatype} is not supported; supported: ${SUPPORTED_INPUT_DATATYPES.join(", ")}`,
    );
  }
  const [n, ...rest] = input.shape;
  if (rest.join() !== m.engine.inputShape.join() || !(n >= 1 && n <= maxBatch)) {
    throw badRequest(
      "bad_shape",
      `input ${input.name}: shape [${input.shape.join(", ")}] is not [n, ${m.engine.inputShape.join(", ")}] with 1 ≤ n ≤ ${maxBatch}`,
    );
  }
  return n;
}

/**
 * The values of a JSON `data` array, flat or nested (no deeper than the shape's rank), walked with an explicit
 * stack: at most `size` numbers and `size × rank + 1` arrays are visited before it gives up.
 */
export function flattenData(
  data: unknown[],
  size: number,
  rank: number,
  name: string,
): Float32Array {
  const out = new Float32Array(size);
  let count = 0;
  let arrays = 0;
  const maxArrays = size * rank + 1;
  const stack: [unknown[], number, number][] = [[data, 0, 1]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [array, index, depth] = top;
    if (index >= array.length) {
      stack.pop();
      continue;
    }
    top[1] = index + 1;
    const value = array[index];
    if (typeof value === "number") {
      if (count >= size) {
        throw badRequest(
          "bad_tensor",
          `input ${name}: data has more than the shape's ${size} values`,
        );
      }
      out[count++] = value;
    } else if (Array.isArray(value)) {
      if (depth >= rank || ++arrays > maxArrays) {
        throw badRequest(
          "bad_tensor",
          `input ${name}: data is nested deeper or wider than its shape of rank ${rank}`,
        );
      }
      stack.push([value, 0, depth + 1]);
    } else {
      throw badRequest(
        "bad_tensor",
        `input ${name}: data holds ${value === null ? "null" : typeof value}; FP32 data are numbers`,
      );
    }
  }
  if (count !== size) {
    throw badRequest(
      "bad_tensor",
      `input ${name}: data has ${count} values, the shape needs ${size}`,
    );
  }
  return out;
}

/** Reads `size` little-endian FP32 values from `bytes` (the binary tensor data extension). */
export function binaryData(bytes: Buffer, size: number, name: string): Float32Array {
  if (bytes.length !== size * 4) {
    throw badRequest(
      "bad_tensor",
      `input ${name}: binary_data_size is ${bytes.length} bytes, FP32 of its shape needs ${size * 4}`,
    );
  }
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Refuses values outside the model's declared input range (NaN and ±Infinity included) before running it. */
export function checkRange(values: Float32Array, m: LoadedModel, name: string): void {
  const [lo, hi] = m.entry.input.range;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= lo && v <= hi)) {
      throw badRequest(
        "out_of_range",
        `input ${name}: value ${v} at index ${i} is outside model ${m.name}'s input range [${lo}, ${hi}]`,
      );
    }
  }
}
