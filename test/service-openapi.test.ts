// GET /openapi.json: covers every route the app registers, and real answers of the running server validate
// against its response schemas (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import request from "supertest";
import { digitPng, digitsByClass, mnistTest } from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

interface Operation {
  parameters?: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
type Paths = Record<string, Record<string, Operation>>;

let svc: TestService;
let paths: Paths;
const ajv = new Ajv2020({ strict: false, allErrors: true });

before(async () => {
  svc = await startTestService();
  const res = await request(svc.app).get("/openapi.json");
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, "3.1.0");
  paths = res.body.paths;
});
after(() => svc.stop());

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (method, path) the express app routes, with :params written as OpenAPI {params}. */
function appRoutes(): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = layer.route.path.replace(/:(\w+)/g, "{$1}");
        for (const method of Object.keys(layer.route.methods)) out.push(`${method} ${path}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((svc.app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out.sort();
}

test("the document covers exactly the routes the app serves, each with its path parameters", () => {
  const documented = Object.entries(paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`))
    .sort();
  assert.deepEqual(documented, appRoutes());
  for (const [path, ops] of Object.entries(paths)) {
    const expected = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const op of Object.values(ops)) {
      const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      assert.deepEqual(declared.sort(), expected, path);
      assert.ok(op.responses["200"], `${path} documents its 200`);
      for (const response of Object.values(op.responses)) {
        for (const { schema } of Object.values(response.content ?? {})) ajv.compile(schema);
      }
    }
  }
});

/** Checks a real answer against the document's schema for its path template, method, status and type. */
function conforms(template: string, method: string, res: request.Response) {
  const operation = paths[template]?.[method];
  assert.ok(operation, `${method} ${template} is documented`);
  const response = operation.responses[String(res.status)];
  assert.ok(response, `${method} ${template} documents status ${res.status}`);
  const type = String(res.headers["content-type"]).split(";")[0];
  const media = response.content?.[type];
  assert.ok(media, `${method} ${template} ${res.status} documents ${type}`);
  let body: unknown = type === "application/json" ? res.body : res.text;
  let schema = media.schema;
  if (type === "application/octet-stream") {
    // The binary tensor data extension: the JSON header answers the JSON schema, the rest is tensor bytes.
    assert.ok(Buffer.isBuffer(res.body), "a binary answer");
    const length = Number(res.headers["inference-header-content-length"]);
    body = JSON.parse(res.body.subarray(0, length).toString("utf8"));
    schema = response.content?.["application/json"]?.schema ?? schema;
  }
  const validate = ajv.compile(schema);
  assert.ok(
    validate(body),
    `${method} ${template} ${res.status}: ${JSON.stringify(validate.errors)}`,
  );
}

test("the response schemas reject answers of the wrong shape", () => {
  const schema = (path: string, method: string, status: string) =>
    ajv.compile(paths[path][method].responses[status].content?.["application/json"]?.schema ?? {});
  assert.equal(schema("/healthz", "get", "200")({ status: "bad" }), false);
  assert.equal(schema("/v2/models/{name}/infer", "post", "400")({ error: { code: "x" } }), false);
  assert.equal(schema("/classify", "post", "422")({ error: "flat" }), false);
  const infer = schema("/v2/models/{name}/infer", "post", "200");
  assert.equal(infer({ model_name: "m", model_version: "1", outputs: [{ name: "o" }] }), false);
});

test("real answers of the running server validate against the document", async () => {
  const app = request(svc.app);
  conforms("/readyz", "get", await app.get("/readyz"));
  conforms("/v1/models", "get", await app.get("/v1/models"));
  conforms("/v2/health/ready", "get", await app.get("/v2/health/ready"));
  assert.equal(await svc.load(), true);

  const [digit] = await digitsByClass(1);
  const png = await digitPng(digit);
  const data = await mnistTest();
  const pixels = Array.from(data.images.subarray(digit * 784, (digit + 1) * 784));
  const input = { name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: pixels };

  conforms("/healthz", "get", await app.get("/healthz"));
  conforms("/readyz", "get", await app.get("/readyz"));
  conforms("/v1/models", "get", await app.get("/v1/models"));
  conforms("/metrics", "get", await app.get("/metrics"));
  conforms("/openapi.json", "get", await app.get("/openapi.json"));
  conforms("/classify", "post", await app.post("/classify").attach("image", png, "d.png"));
  conforms(
    "/classify",
    "post",
    await app
      .post("/classify?k=2&level=4")
      .attach("images", png, "a.png")
      .attach("images", png, "b.png"),
  );
  conforms("/classify", "post", await app.post("/classify?k=0").attach("image", png, "d.png"));
  conforms(
    "/classify",
    "post",
    await app.post("/classify").set("content-type", "text/plain").send("x"),
  );
  conforms("/taylornet/predict", "post", await app.post("/taylornet/predict").send({ pixels }));
  conforms(
    "/taylornet/predict",
    "post",
    await app.post("/taylornet/predict").attach("images", png, "a.png"),
  );
  conforms(
    "/taylornet/predict",
    "post",
    await app.post("/taylornet/predict").send({ pixels: [1] }),
  );
  conforms("/v2", "get", await app.get("/v2"));
  conforms("/v2/health/live", "get", await app.get("/v2/health/live"));
  conforms("/v2/health/ready", "get", await app.get("/v2/health/ready"));
  conforms("/v2/models/{name}", "get", await app.get("/v2/models/taylornet"));
  conforms("/v2/models/{name}", "get", await app.get("/v2/models/nope"));
  conforms("/v2/models/{name}/ready", "get", await app.get("/v2/models/embedder/ready"));
  const versioned = "/v2/models/{name}/versions/{version}";
  conforms(versioned, "get", await app.get("/v2/models/taylornet/versions/t1"));
  conforms(`${versioned}/ready`, "get", await app.get("/v2/models/taylornet/versions/t1/ready"));
  const infer = "/v2/models/{name}/infer";
  conforms(
    infer,
    "post",
    await app.post("/v2/models/taylornet/infer").send({ id: "a", inputs: [input] }),
  );
  conforms(
    `${versioned}/infer`,
    "post",
    await app.post("/v2/models/embedder/versions/e1/infer").send({
      inputs: [input],
      outputs: [{ name: "embedding_normalized", parameters: { classification: 3 } }],
    }),
  );
  conforms(
    infer,
    "post",
    await app.post("/v2/models/taylornet/infer").send({
      inputs: [input],
      parameters: { binary_data_output: true },
    }),
  );
  conforms(
    infer,
    "post",
    await app.post("/v2/models/taylornet/infer").send({ inputs: [{ ...input, datatype: "INT8" }] }),
  );
  conforms(infer, "post", await app.post("/v2/models/nope/infer").send({ inputs: [input] }));
});
