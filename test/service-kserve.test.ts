// The Open Inference Protocol (KServe v2) over a real HTTP server, with requests built as the protocol's examples
// and the Triton/KServe HTTP clients build them (JSON with and without Content-Type, binary tensor data,
// classification), and the hardening: bodies that must be refused fast, without stalling the event loop.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import {
  classifierLogits,
  digitsByClass,
  type Fixture,
  LABELS,
  mnistTest,
} from "./service-fixture.js";
import { startTestService, type TestService } from "./service-harness.js";

let fx: Fixture;
let svc: TestService;
let server: http.Server;
let url: string;
let refs: number[];

before(async () => {
  // The production default upload limit: the infer paths must not lean on it.
  svc = await startTestService({ maxUploadBytes: 10 * 1024 * 1024 });
  fx = svc.fixture;
  refs = await digitsByClass(1);
  assert.equal(await svc.load(), true);
  server = http.createServer(svc.app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await svc.stop();
});

async function digit(index: number): Promise<number[]> {
  const data = await mnistTest();
  return Array.from(data.images.subarray(index * 784, (index + 1) * 784));
}

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field below
type Json = any;

const answerJson = (res: Response): Promise<Json> => res.json();

function fp32Bytes(values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    bytes.writeFloatLE(v, i * 4);
  });
  return bytes;
}

/** POSTs exactly the given bytes and headers (fetch adds no Content-Type for a byte body). */
function post(path: string, body: Buffer | string, headers: Record<string, string> = {}) {
  return fetch(`${url}${path}`, {
    method: "POST",
    body: typeof body === "string" ? Buffer.from(body) : body,
    headers,
  });
}

const postJson = (path: string, body: unknown) =>
  post(path, JSON.stringify(body), { "content-type": "application/json" });

/** Splits a binary-extension answer into its JSON header and the bytes after it. */
async function binaryAnswer(res: Response) {
  const bytes = Buffer.from(await res.arrayBuffer());
  const length = Number(res.headers.get("inference-header-content-length"));
  assert.ok(length > 0 && length <= bytes.length, "Inference-Header-Content-Length fits the body");
  return {
    json: JSON.parse(bytes.subarray(0, length).toString("utf8")),
    data: bytes.subarray(length),
  };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-3) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) < tolerance,
      `[${i}] ${actual[i]} vs ${expected[i]}`,
    );
  }
}

function topClasses(logits: number[], count: number): string[] {
  return logits
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, count)
    .map(([v, i]) => `${v.toFixed(6)}:${i}:${LABELS[i]}`);
}

test("GET /v2 advertises the binary tensor data and classification extensions", async () => {
  const res = await fetch(`${url}/v2`);
  assert.equal(res.status, 200);
  assert.deepEqual(await answerJson(res), {
    name: "cgnn",
    version: "1",
    extensions: ["binary_tensor_data", "classification"],
  });
});

test("versioned model paths: metadata, ready and infer; another version is 404 in the protocol's error body", async () => {
  const meta = await (await fetch(`${url}/v2/models/taylornet/versions/t1`)).json();
  assert.deepEqual(meta, {
    name: "taylornet",
    versions: ["t1"],
    platform: "onnxruntime_onnx",
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 28, 28, 1] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 10] }],
  });
  const ready = await fetch(`${url}/v2/models/taylornet/versions/t1/ready`);
  assert.deepEqual(await answerJson(ready), { name: "taylornet", ready: true });
  const pixels = await digit(refs[3]);
  const res = await postJson("/v2/models/taylornet/versions/t1/infer", {
    id: "v1",
    inputs: [{ name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: pixels }],
  });
  assert.equal(res.status, 200);
  const body = await answerJson(res);
  assert.equal(body.model_name, "taylornet");
  assert.equal(body.model_version, "t1");
  assert.equal(body.id, "v1");
  assert.equal(body.outputs.length, 1);
  assert.equal(body.outputs[0].name, "logits");
  assert.equal(body.outputs[0].datatype, "FP32");
  assert.deepEqual(body.outputs[0].shape, [1, 10]);
  assertClose(body.outputs[0].data, classifierLogits(fx.classifierWeights, pixels));

  for (const path of [
    "/v2/models/taylornet/versions/t9",
    "/v2/models/taylornet/versions/t9/ready",
    "/v2/models/nope",
    "/v2/models/nope/ready",
    "/v2/nothing/here",
  ]) {
    const missing = await fetch(`${url}${path}`);
    assert.equal(missing.status, 404, path);
    const error = await answerJson(missing);
    assert.deepEqual(Object.keys(error), ["error"], path);
    assert.equal(typeof error.error, "string");
  }
  const wrong = await postJson("/v2/models/taylornet/versions/t9/infer", { inputs: [] });
  assert.equal(wrong.status, 404);
  assert.match((await answerJson(wrong)).error, /version t9/);
});

test("a JSON body without Content-Type (as the Triton HTTP client sends it) is read as JSON", async () => {
  const pixels = await digit(refs[7]);
  const res = await post(
    "/v2/models/taylornet/infer",
    JSON.stringify({
      inputs: [{ name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: [pixels] }],
    }),
  );
  assert.equal(res.status, 200);
  const body = await answerJson(res);
  assertClose(body.outputs[0].data, classifierLogits(fx.classifierWeights, pixels));
  const charset = await post("/v2/models/taylornet/infer", JSON.stringify({ inputs: [] }), {
    "content-type": "application/json; charset=utf-8",
  });
  assert.equal(charset.status, 400, "read as JSON (and refused for its empty inputs)");
  assert.match((await answerJson(charset)).error, /inputs/);
  const gzip = await post("/v2/models/taylornet/infer", "{}", { "content-encoding": "gzip" });
  assert.equal(gzip.status, 415);
  assert.match((await answerJson(gzip)).error, /Content-Encoding gzip/);
  const plain = await post("/v2/models/taylornet/infer", "{}", { "content-type": "text/plain" });
  assert.equal(plain.status, 415);
  assert.match((await answerJson(plain)).error, /application\/json/);
});

test("binary tensor data extension: a binary input and a binary output, as the Triton client builds them", async () => {
  const a = await digit(refs[2]);
  const b = await digit(refs[5]);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: "input",
          shape: [2, 28, 28, 1],
          datatype: "FP32",
          parameters: { binary_data_size: 2 * 784 * 4 },
        },
      ],
      outputs: [{ name: "logits", parameters: { binary_data: true } }],
    }),
  );
  const res = await post(
    "/v2/models/taylornet/infer",
    Buffer.concat([header, fp32Bytes([...a, ...b])]),
    {
      "Inference-Header-Content-Length": String(header.length),
    },
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/octet-stream");
  const { json, data } = await binaryAnswer(res);
  assert.deepEqual(json, {
    model_name: "taylornet",
    model_version: "t1",
    outputs: [
      { name: "logits", datatype: "FP32", shape: [2, 10], parameters: { binary_data_size: 80 } },
    ],
  });
  assert.equal(data.length, 80);
  const logits = Array.from({ length: 20 }, (_, i) => data.readFloatLE(i * 4));
  assertClose(logits.slice(0, 10), classifierLogits(fx.classifierWeights, a));
  assertClose(logits.slice(10), classifierLogits(fx.classifierWeights, b));

  // A JSON input with every output binary by the request-level parameter.
  const all = await postJson("/v2/models/embedder/infer", {
    parameters: { binary_data_output: true },
    inputs: [{ name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: a }],
  });
  const emb = await binaryAnswer(all);
  assert.deepEqual(emb.json.outputs, [
    {
      name: "embedding_normalized",
      datatype: "FP32",
      shape: [1, 64],
      parameters: { binary_data_size: 256 },
    },
  ]);
  const norm = Math.hypot(...Array.from({ length: 64 }, (_, i) => emb.data.readFloatLE(i * 4)));
  assert.ok(Math.abs(norm - 1) < 1e-4);

  // binary_data_size that disagrees with the bytes sent, and a header length beyond the body.
  const short = await post("/v2/models/taylornet/infer", Buffer.concat([header, fp32Bytes(a)]), {
    "Inference-Header-Content-Length": String(header.length),
  });
  assert.equal(short.status, 400);
  assert.match((await answerJson(short)).error, /binary_data_size/);
  const beyond = await post("/v2/models/taylornet/infer", header, {
    "Inference-Header-Content-Length": String(header.length + 1),
  });
  assert.equal(beyond.status, 400);
  assert.match((await answerJson(beyond)).error, /Inference-Header-Content-Length/);
});

test("classification extension: TaylorNet's top N and the embedder's nearest reference classes", async () => {
  const pixels = await digit(refs[4]);
  const res = await postJson("/v2/models/taylornet/infer", {
    inputs: [{ name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: pixels }],
    outputs: [{ name: "logits", parameters: { classification: 3 } }],
  });
  assert.equal(res.status, 200);
  const [out] = (await answerJson(res)).outputs;
  assert.equal(out.name, "logits");
  assert.equal(out.datatype, "BYTES");
  assert.deepEqual(out.shape, [1, 3]);
  const expected = topClasses(classifierLogits(fx.classifierWeights, pixels), 3);
  assert.equal(out.data.length, 3);
  out.data.forEach((entry: string, i: number) => {
    const [score, index, label] = entry.split(":");
    const [eScore, eIndex, eLabel] = expected[i].split(":");
    assert.ok(Math.abs(Number(score) - Number(eScore)) < 1e-3, `${entry} vs ${expected[i]}`);
    assert.equal(index, eIndex);
    assert.equal(label, eLabel);
  });

  // The embedder: level-5 references are the first test image of each class, so each finds itself.
  const images = await Promise.all([refs[1], refs[8]].map(digit));
  const emb = await postJson("/v2/models/embedder/infer", {
    inputs: [{ name: "input", shape: [2, 28, 28, 1], datatype: "FP32", data: images.flat() }],
    outputs: [
      { name: "embedding_normalized", parameters: { classification: 2, binary_data: true } },
    ],
  });
  assert.equal(emb.status, 200);
  const { json, data } = await binaryAnswer(emb);
  assert.deepEqual(json.outputs[0].shape, [2, 2]);
  assert.equal(json.outputs[0].datatype, "BYTES");
  assert.equal(json.outputs[0].parameters.binary_data_size, data.length);
  const strings: string[] = [];
  for (let at = 0; at < data.length; ) {
    const length = data.readUInt32LE(at);
    strings.push(data.subarray(at + 4, at + 4 + length).toString("utf8"));
    at += 4 + length;
  }
  assert.equal(strings.length, 4);
  for (const [row, label] of [
    [0, "1"],
    [1, "8"],
  ] as const) {
    const [score, index, name] = strings[row * 2].split(":");
    assert.ok(Number(score) > 0.999, strings[row * 2]);
    assert.equal(index, label);
    assert.equal(name, label);
    assert.notEqual(strings[row * 2 + 1].split(":")[2], label, "the second class is another one");
  }

  for (const bad of [0, 2.5, "3", 11]) {
    const res = await postJson("/v2/models/taylornet/infer", {
      inputs: [{ name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: pixels }],
      outputs: [{ name: "logits", parameters: { classification: bad } }],
    });
    assert.equal(res.status, 400, String(bad));
    assert.match((await answerJson(res)).error, /classification/);
  }
});

test("bad tensors are 400s naming the problem: datatype, shape, data, range, nesting", async () => {
  const pixels = await digit(refs[0]);
  const input = { name: "input", shape: [1, 28, 28, 1], datatype: "FP32", data: pixels };
  const cases: [string, unknown, RegExp][] = [
    [
      "INT8",
      { inputs: [{ ...input, datatype: "INT8" }] },
      /datatype INT8 is not supported; supported: FP32/,
    ],
    ["FP64", { inputs: [{ ...input, datatype: "FP64" }] }, /supported: FP32/],
    ["rank", { inputs: [{ ...input, shape: [1, 28, 28] }] }, /shape \[1, 28, 28\]/],
    ["batch 0", { inputs: [{ ...input, shape: [0, 28, 28, 1], data: [] }] }, /1 ≤ n ≤ 8/],
    ["oversize", { inputs: [{ ...input, shape: [1e9, 28, 28, 1] }] }, /1 ≤ n ≤ 8/],
    [
      "too few",
      { inputs: [{ ...input, data: pixels.slice(1) }] },
      /783 values, the shape needs 784/,
    ],
    ["too many", { inputs: [{ ...input, data: [...pixels, 0] }] }, /more than the shape's 784/],
    [
      "shape vs data",
      { inputs: [{ ...input, shape: [2, 28, 28, 1] }] },
      /784 values, the shape needs 1568/,
    ],
    ["string", { inputs: [{ ...input, data: [...pixels.slice(1), "0"] }] }, /holds string/],
    [
      "1e30",
      { inputs: [{ ...input, data: [1e30, ...pixels.slice(1)] }] },
      /outside model taylornet's input range \[0, 1\]/,
    ],
    ["negative", { inputs: [{ ...input, data: [-3, ...pixels.slice(1)] }] }, /input range/],
    ["name", { inputs: [{ ...input, name: "x" }] }, /has one input, input/],
    ["two inputs", { inputs: [input, input] }, /takes 1 input, got 2/],
    ["no inputs", { inputs: [] }, /inputs/],
    ["output", { inputs: [input], outputs: [{ name: "probs" }] }, /has one output, logits/],
    ["no data", { inputs: [{ ...input, data: undefined }] }, /neither data nor binary_data_size/],
    [
      "data not an array",
      { inputs: [{ ...input, data: "0" }] },
      /inputs\.0\.data: expected an array/,
    ],
  ];
  for (const [what, body, message] of cases) {
    const res = await postJson("/v2/models/taylornet/infer", body);
    assert.equal(res.status, 400, what);
    const error = await answerJson(res);
    assert.deepEqual(Object.keys(error), ["error"], what);
    assert.match(error.error, message, what);
  }
  // 1e400 is Infinity once parsed; nesting deeper than the shape and 20 000-deep JSON are 400s too.
  const raw = JSON.stringify({ inputs: [{ ...input, data: [0] }] });
  for (const [what, body, message] of [
    ["infinity", raw.replace('"data":[0]', `"data":[1e400,${pixels.slice(1)}]`), /input range/],
    [
      "deep",
      raw.replace('"data":[0]', `"data":${"[".repeat(20_000)}${"]".repeat(20_000)}`),
      /nested deeper/,
    ],
    ["broken", "{nope", /not valid JSON/],
  ] as const) {
    const res = await post("/v2/models/taylornet/infer", body, {
      "content-type": "application/json",
    });
    assert.equal(res.status, 400, what);
    assert.match((await answerJson(res)).error, message, what);
  }
});

/** healthz latencies measured while `during` is pending. */
async function pollHealthz(during: Promise<unknown>): Promise<number[]> {
  let done = false;
  void during.finally(() => {
    done = true;
  });
  const latencies: number[] = [];
  do {
    const started = performance.now();
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 5));
  } while (!done);
  return latencies;
}

/** Streams `chunks` as a chunked body (no Content-Length); resolves with the status once answered. */
function streamBody(path: string, chunks: () => Iterable<string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    (async () => {
      for (const chunk of chunks()) {
        if (answered) break;
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })().catch(() => undefined);
  });
}

test("1.5 M nested empty arrays are refused fast while /healthz keeps answering", async () => {
  const head = '{"inputs":[{"name":"input","shape":[1,28,28,1],"datatype":"FP32","data":[';
  const empties = "[],".repeat(100_000);
  const pathological = () =>
    (function* () {
      yield head;
      for (let i = 0; i < 15; i++) yield empties;
      yield "[]]}]}";
    })();
  const started = performance.now();
  const status = streamBody("/v2/models/taylornet/infer", pathological);
  const latencies = await pollHealthz(status);
  assert.ok([400, 413].includes(await status), `status ${await status}`);
  assert.ok(latencies.length >= 1, "/healthz answered while the bad request was in flight");
  assert.ok(Math.max(...latencies) < 1000, `healthz took up to ${Math.max(...latencies)} ms`);
  assert.ok(performance.now() - started < 10_000);

  // With a Content-Length over the limit: 413 before the body is read.
  const whole = Buffer.from(`${head}${empties.repeat(15)}[]]}]}`);
  const res = await post("/v2/models/taylornet/infer", whole, {
    "content-type": "application/json",
  });
  assert.equal(res.status, 413);
  assert.match((await answerJson(res)).error, /exceeds \d+ bytes/);

  // Within the byte limit but far more arrays than the shape allows: 400 from the capped walk.
  const inside = `${head}${"[],".repeat(60_000)}[]]}]}`;
  const capped = post("/v2/models/taylornet/infer", inside, { "content-type": "application/json" });
  const polls = await pollHealthz(capped);
  const answer = await capped;
  assert.equal(answer.status, 400);
  assert.match((await answerJson(answer)).error, /nested deeper or wider/);
  assert.ok(Math.max(...polls) < 1000);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test("a client that goes away mid-body is not logged as a server error", async () => {
  const before = svc.logs.length;
  const req = http.request(`${url}/v2/models/taylornet/infer`, {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": "100000" },
  });
  req.on("error", () => undefined);
  req.write('{"inputs": [{"name": "input", "shape": [1, 28, 28, 1], "datatype": "FP32", "data": [');
  await new Promise((resolve) => setTimeout(resolve, 50));
  req.destroy();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(
    svc.logs.slice(before).filter((l) => l.event === "request_error"),
    [],
  );
  const errors = await svc.metrics.registry.getSingleMetricAsString("cgnn_http_errors_total");
  assert.doesNotMatch(errors, /error="internal"/);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test("a full batch as JSON (decoded off the event loop) answers every row", async () => {
  const images = await Promise.all(refs.slice(0, 8).map(digit));
  const res = await postJson("/v2/models/taylornet/infer", {
    inputs: [{ name: "input", shape: [8, 28, 28, 1], datatype: "FP32", data: images }],
  });
  assert.equal(res.status, 200);
  const [out] = (await answerJson(res)).outputs;
  assert.deepEqual(out.shape, [8, 10]);
  images.forEach((pixels, row) => {
    assertClose(
      out.data.slice(row * 10, (row + 1) * 10),
      classifierLogits(fx.classifierWeights, pixels),
    );
  });
});
