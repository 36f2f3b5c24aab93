// The KServe v2 (Open Inference Protocol) REST paths over the loaded ONNX models, for standard clients.
import express, { Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import { notFound, unprocessable } from "../errors.js";
import type { LoadedModel, ServingSet } from "../serving-set.js";
import type { ServingState } from "../state.js";
import { withServingSet } from "./lease.js";

const NumberTree: z.ZodType<unknown> = z.lazy(() => z.union([z.number(), z.array(NumberTree)]));

const InferRequest = z.strictObject({
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z
    .array(
      z.strictObject({
        name: z.string(),
        shape: z.array(z.number().int().nonnegative()),
        datatype: z.literal("FP32"),
        data: z.array(NumberTree),
        parameters: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .length(1),
  outputs: z.array(z.looseObject({ name: z.string() })).optional(),
});

function model(set: ServingSet | undefined, name: string): LoadedModel {
  const m = set?.models.get(name);
  if (!m) throw notFound(`model ${name} is not loaded`);
  return m;
}

function metadata(m: LoadedModel) {
  return {
    name: m.name,
    versions: [m.entry.version],
    platform: "onnxruntime_onnx",
    inputs: [
      { name: m.engine.metadata.input.name, datatype: "FP32", shape: [-1, ...m.engine.inputShape] },
    ],
    outputs: [{ name: m.output, datatype: "FP32", shape: [-1, m.engine.outputDim] }],
  };
}

export function kserveRouter(config: Config, state: ServingState): Router {
  const router = Router();
  router.get("/v2", (_req, res) => {
    res.json({ name: "cgnn", version: "1", extensions: [] });
  });
  router.get("/v2/health/live", (_req, res) => {
    res.json({ live: true });
  });
  router.get("/v2/health/ready", (_req, res) => {
    res.status(state.ready ? 200 : 503).json({ ready: state.ready });
  });
  router.get("/v2/models/:name", (req, res) => {
    res.json(metadata(model(state.current, req.params.name)));
  });
  router.get("/v2/models/:name/ready", (req, res) => {
    res.json({ name: model(state.current, req.params.name).name, ready: true });
  });
  router.post(
    "/v2/models/:name/infer",
    express.json({ limit: config.maxUploadBytes }),
    withServingSet<{ name: string }>(state, async (req, res, set) => {
      const m = model(set, req.params.name);
      const { id, inputs, outputs } = parseInfer(req.body);
      const [input] = inputs;
      const [n, ...shape] = input.shape;
      if (input.name !== m.engine.metadata.input.name) {
        throw unprocessable(
          "bad_body",
          `inputs[0].name: model ${m.name} has input ${m.engine.metadata.input.name}`,
        );
      }
      if (shape.join() !== m.engine.inputShape.join() || n < 1 || n > config.maxImagesPerRequest) {
        throw unprocessable(
          "bad_body",
          `inputs[0].shape: expected [n, ${m.engine.inputShape.join(", ")}] with 1 ≤ n ≤ ${config.maxImagesPerRequest}`,
        );
      }
      const data = (input.data as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
      const size = m.engine.inputShape.reduce((a, b) => a * b, n);
      if (data.length !== size)
        throw unprocessable(
          "bad_body",
          `inputs[0].data: ${data.length} values for shape [${input.shape}]`,
        );
      const unknown = outputs?.find((o) => o.name !== m.output);
      if (unknown)
        throw unprocessable("bad_body", `outputs: model ${m.name} has no output ${unknown.name}`);
      const out = await m.run(Float32Array.from(data), n);
      res.json({
        model_name: m.name,
        model_version: m.entry.version,
        ...(id === undefined ? {} : { id }),
        outputs: [
          {
            name: m.output,
            datatype: "FP32",
            shape: [n, m.engine.outputDim],
            data: Array.from(out),
          },
        ],
      });
    }),
  );
  return router;
}

function parseInfer(body: unknown) {
  const result = InferRequest.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw unprocessable("bad_body", `${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  return result.data;
}
