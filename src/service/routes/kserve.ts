// The KServe v2 (Open Inference Protocol) REST paths over the loaded ONNX models, for standard clients:
// server and model metadata/readiness, and infer (unversioned and versioned) with the binary tensor data and
// classification extensions. Errors under /v2 (unknown /v2 paths too) answer the protocol's {"error": "<message>"} (app.ts).
import { type Request, type Response, Router } from "express";
import type { Config } from "../../config.js";
import { badRequest, notFound } from "../errors.js";
import { inferBodyLimit, readInferBody } from "../kserve/body.js";
import { classify } from "../kserve/classification.js";
import { EXTENSIONS } from "../kserve/contract.js";
import { decodeInferBody } from "../kserve/decode-off-loop.js";
import { inputValues, parseRequest, planOutputs } from "../kserve/request.js";
import { type OutputTensor, sendInferResponse } from "../kserve/response.js";
import { checkInputHeader, checkRange } from "../kserve/tensor.js";
import type { LoadedModel, ServingSet } from "../serving-set.js";
import type { ServingState } from "../state.js";
import { withServingSet } from "./lease.js";

interface ModelParams {
  name: string;
  version?: string;
}

/** The model a path names; with a version, only if that version is the one loaded. */
function model(set: ServingSet | undefined, { name, version }: ModelParams): LoadedModel {
  const m = set?.models.get(name);
  if (!m) throw notFound(`model ${name} is not loaded`);
  if (version !== undefined && version !== m.entry.version) {
    throw notFound(`model ${name} version ${version} is not loaded (serving ${m.entry.version})`);
  }
  return m;
}

export function modelMetadata(m: LoadedModel) {
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

export const MODEL_PATHS = ["/v2/models/:name", "/v2/models/:name/versions/:version"];

export function kserveRouter(config: Config, state: ServingState): Router {
  const router = Router();
  router.get("/v2", (_req, res) => {
    res.json({ name: "cgnn", version: "1", extensions: EXTENSIONS });
  });
  router.get("/v2/health/live", (_req, res) => {
    res.json({ live: true });
  });
  router.get("/v2/health/ready", (_req, res) => {
    res.status(state.ready ? 200 : 503).json({ ready: state.ready });
  });
  for (const path of MODEL_PATHS) {
    router.get(path, (req: Request<ModelParams>, res) => {
      res.json(modelMetadata(model(state.current, req.params)));
    });
    router.get(`${path}/ready`, (req: Request<ModelParams>, res) => {
      res.json({ name: model(state.current, req.params).name, ready: true });
    });
    router.post(
      `${path}/infer`,
      withServingSet<ModelParams>(state, async (req, res, set) => {
        await infer(req, res, set, config);
      }),
    );
  }
  return router;
}

async function infer(req: Request<ModelParams>, res: Response, set: ServingSet, config: Config) {
  const m = model(set, req.params);
  const perImage = m.engine.inputShape.reduce((a, b) => a * b, 1);
  const maxValues = perImage * config.maxImagesPerRequest;
  const body = await readInferBody(req as unknown as Request, inferBodyLimit(maxValues));
  const decoded = await decodeInferBody(body.json, maxValues);
  const request = parseRequest(decoded.json);
  if (request.inputs.length !== 1) {
    throw badRequest(
      "bad_body",
      `inputs: model ${m.name} takes 1 input, got ${request.inputs.length}`,
    );
  }
  const [input] = request.inputs;
  const n = checkInputHeader(input, m, config.maxImagesPerRequest);
  const outputs = planOutputs(request, m);
  const values = inputValues(input, decoded.tensors[0], body.binary, n * perImage);
  checkRange(values, m, input.name);
  const result = await m.run(values, n);
  if (!result.every(Number.isFinite)) {
    throw badRequest("non_finite", `model ${m.name} produced non-finite outputs for this input`);
  }
  const tensors: OutputTensor[] = outputs.map((o) =>
    o.classification === undefined
      ? {
          name: o.name,
          datatype: "FP32",
          shape: [n, m.engine.outputDim],
          values: result,
          binary: o.binary,
        }
      : {
          name: o.name,
          datatype: "BYTES",
          shape: [n, o.classification],
          values: classify(m, set, config, result, n, o.classification),
          binary: o.binary,
        },
  );
  sendInferResponse(
    res,
    {
      model_name: m.name,
      model_version: m.entry.version,
      ...(request.id === undefined ? {} : { id: request.id }),
    },
    tensors,
  );
}
