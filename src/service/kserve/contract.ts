// The Open Inference Protocol (KServe v2) REST messages as zod schemas: they validate requests and generate OpenAPI.
import { z } from "zod";

/** Datatypes of the protocol; the service computes in FP32 only (classification answers are BYTES). */
export const DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;
export const SUPPORTED_INPUT_DATATYPES = ["FP32"] as const;

const Parameters = z
  .record(z.string(), z.unknown())
  .meta({ description: "Protocol and extension parameters (binary_data_size, binary_data, ...)" });

/** Shape and datatype are checked before `data` is looked at (data is walked iteratively, with a cap). */
export const InferInput = z.strictObject({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()).max(8),
  datatype: z
    .string()
    .meta({ description: `One of ${DATATYPES.join(", ")}; this server accepts FP32` }),
  data: z.array(z.unknown()).optional().meta({
    description:
      "The tensor's numbers in row-major order, flat or nested by shape; absent when the tensor is sent with the binary tensor data extension (parameters.binary_data_size)",
  }),
  parameters: Parameters.optional(),
});

export const InferRequestedOutput = z.strictObject({
  name: z.string(),
  parameters: Parameters.optional().meta({
    description:
      '{"binary_data": true} for binary data in the answer; {"classification": N} for the top N as "score:index:label" strings',
  }),
});

export const InferRequest = z.strictObject({
  id: z.string().optional(),
  parameters: Parameters.optional().meta({
    description: '{"binary_data_output": true} returns every output as binary data',
  }),
  inputs: z.array(InferInput).min(1),
  outputs: z.array(InferRequestedOutput).optional(),
});
export type InferRequest = z.infer<typeof InferRequest>;

export const InferOutput = z.object({
  name: z.string(),
  datatype: z.enum(["FP32", "BYTES"]),
  shape: z.array(z.number().int().nonnegative()),
  data: z.array(z.union([z.number(), z.string()])).optional(),
  parameters: z.object({ binary_data_size: z.number().int().nonnegative() }).optional(),
});

export const InferResponse = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(InferOutput),
});

const TensorMetadata = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()),
});

export const ModelMetadata = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(TensorMetadata),
  outputs: z.array(TensorMetadata),
});

export const ServerMetadata = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});

export const ServerLive = z.object({ live: z.boolean() });
export const ServerReady = z.object({ ready: z.boolean() });
export const ModelReady = z.object({ name: z.string(), ready: z.boolean() });

/** The protocol's error body on every /v2 path. */
export const ErrorResponse = z.object({ error: z.string() });

export const EXTENSIONS = ["binary_tensor_data", "classification"];
