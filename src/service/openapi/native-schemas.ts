// The cgnn-native endpoints' answers as zod schemas, for the OpenAPI document (the handlers build these shapes).
import { z } from "zod";

export const NativeError = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string() }),
});

export const Health = z.strictObject({ status: z.literal("ok") });

export const Ready = z.strictObject({
  status: z.literal("ready"),
  generation: z.number().int(),
  references: z.string(),
});
export const NotReady = z.strictObject({
  status: z.enum(["not_ready", "shutting_down"]),
  reason: z.string(),
  models: z.array(z.string()).optional(),
});

/** How the last reload went (the old set keeps serving while a failed one is retried). */
export const ReloadStatus = z.strictObject({
  status: z.enum(["ok", "failed", "never"]),
  reason: z.string().optional(),
  lastAttemptAt: z.string().optional(),
  lastSuccessAt: z.string().optional(),
  error: z.string().optional().meta({ description: "Why the last attempt failed" }),
  failures: z.number().int().meta({ description: "Failed attempts in a row" }),
  nextRetryAt: z.string().optional(),
});

const ModelRef = z.strictObject({ name: z.string(), version: z.string() });

export const ModelDescription = z.looseObject({
  name: z.string(),
  version: z.string(),
  role: z.enum(["embedder", "classifier"]),
  format: z.string(),
  sha256: z.string(),
  inputs: z.array(
    z.looseObject({
      name: z.string(),
      shape: z.array(z.union([z.string(), z.number()])),
      layout: z.string(),
      range: z.array(z.number()),
    }),
  ),
  outputs: z.array(
    z.looseObject({
      name: z.string(),
      shape: z.array(z.union([z.string(), z.number(), z.null()])),
    }),
  ),
  labels: z.array(z.string()),
});

export const ModelList = z.looseObject({
  models: z.array(ModelDescription),
  references: z.looseObject({
    version: z.string(),
    embedder: z.string(),
    levels: z.array(z.number().int()),
    sha256: z.string(),
  }),
  reload: ReloadStatus,
});

export const Classification = z.strictObject({
  label: z.string(),
  similarity: z.number(),
  topK: z.array(
    z.strictObject({
      label: z.string(),
      similarity: z.number(),
      referenceId: z.number().int(),
      level: z.number().int(),
    }),
  ),
  model: ModelRef,
  references: z.strictObject({ version: z.string(), level: z.number().int() }),
  preprocessing: z.strictObject({ inverted: z.boolean(), framed: z.boolean() }),
});

export const Prediction = z.strictObject({
  label: z.string(),
  probabilities: z.record(z.string(), z.number()),
  model: ModelRef,
});

/** The JSON body of /taylornet/predict (its length, the classifier's input size, is checked per model). */
export const PixelsBody = z.strictObject({
  pixels: z.array(z.number().min(0).max(1)).meta({
    description: "The classifier's input, row-major NHWC, one number in [0, 1] per value",
  }),
});

/** multipart/form-data bodies of the image endpoints. */
export const ImageUpload = z.object({
  image: z
    .string()
    .meta({ format: "binary", description: "One image: the answer is one object" })
    .optional(),
  images: z
    .array(z.string().meta({ format: "binary" }))
    .meta({ description: "Several images: the answer is an array in the same order" })
    .optional(),
});
