// KServe v2 infer load on the shipped models: JSON vs the binary tensor data extension, one image and a full
// batch, then /healthz latency while clients send bodies that must be refused (too large, over-nested).
// Starts the service as a child on 127.0.0.1; one JSON line per row.
// Usage: tsx bench/kserve.ts [--models-dir models] [--duration 5] [--connections 16]
import { spawn } from "node:child_process";
import autocannon, { type Result } from "autocannon";
import { runScript } from "../src/util/cli.js";
import { int, readFlags, string } from "../src/util/flags.js";
import { freePort } from "../src/util/free-port.js";

interface Model {
  name: string;
  shape: number[];
}

/** A request for `n` images of random pixels in [0, 1], as JSON or as the binary extension sends it. */
function inferBody(
  model: Model,
  n: number,
  binary: boolean,
): { body: Buffer; headers: Record<string, string> } {
  const size = n * model.shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size }, () => Math.random());
  const input = { name: "input", shape: [n, ...model.shape], datatype: "FP32" };
  if (!binary) {
    return {
      body: Buffer.from(JSON.stringify({ inputs: [{ ...input, data: values }] })),
      headers: { "content-type": "application/json" },
    };
  }
  const json = Buffer.from(
    JSON.stringify({
      inputs: [{ ...input, parameters: { binary_data_size: size * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  const bytes = Buffer.from(Float32Array.from(values).buffer);
  return {
    body: Buffer.concat([json, bytes]),
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(json.length),
    },
  };
}

async function probe(url: string, until: Promise<unknown>) {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const times: number[] = [];
  while (!done) {
    const started = performance.now();
    await fetch(url).then((r) => r.arrayBuffer());
    times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 10));
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    Number(times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2));
  return {
    probes: times.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: Number(times.at(-1)!.toFixed(2)),
  };
}

const row = (fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ bench: "kserve", ...fields })}\n`);

const summary = (r: Result) => ({
  requestsPerSec: Math.round(r.requests.average),
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99,
  requests: r.requests.total,
  non2xx: r.non2xx,
  errors: r.errors,
});

const SCRIPT = {
  usage: "tsx bench/kserve.ts [--models-dir models] [--duration 5] [--connections 16]",
  summary: "KServe v2 infer load (JSON vs binary) and /healthz while refused bodies flood in.",
};

const FLAGS = {
  "models-dir": string("the models folder served", { default: "models", arg: "DIR" }),
  duration: int("seconds per row", { default: 5, min: 1, max: 600 }),
  connections: int("concurrent connections", { default: 16, min: 1, max: 1024 }),
};

runScript("bench/kserve", async () => {
  const flags = readFlags(SCRIPT, FLAGS);
  const { duration, connections } = flags;
  const modelsDir = flags["models-dir"];
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/service/server.ts",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--models-dir",
      modelsDir,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  try {
    const end = Date.now() + 180_000;
    while (
      !(await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null || Date.now() > end)
        throw new Error("the service did not become ready");
      await new Promise((r) => setTimeout(r, 250));
    }
    const list = (await (await fetch(`${url}/v1/models`)).json()) as {
      models: { name: string; inputs: { shape: (string | number)[] }[] }[];
    };
    const models: Model[] = list.models.map(
      (m: { name: string; inputs: { shape: (string | number)[] }[] }) => ({
        name: m.name,
        shape: m.inputs[0].shape.slice(1) as number[],
      }),
    );
    for (const model of models) {
      for (const n of [1, 32]) {
        for (const binary of [false, true]) {
          const { body, headers } = inferBody(model, n, binary);
          const path = `${url}/v2/models/${model.name}/infer`;
          const check = await fetch(path, { method: "POST", body, headers });
          if (!check.ok) throw new Error(`${model.name}: ${check.status} ${await check.text()}`);
          await autocannon({ url: path, method: "POST", body, headers, connections, duration: 1 });
          const r = await autocannon({
            url: path,
            method: "POST",
            body,
            headers,
            connections,
            duration,
          });
          row({
            model: model.name,
            images: n,
            body: binary ? "binary" : "json",
            connections,
            durationS: duration,
            ...summary(r),
            bytesPerRequest: body.length,
          });
        }
      }
    }
    // Bodies that must be refused: 1.5 M nested empty arrays (4.5 MB), and a small over-nested one.
    const target = models[0];
    const head = `{"inputs":[{"name":"input","shape":[1,${target.shape}],"datatype":"FP32","data":[`;
    for (const [what, body] of [
      ["1.5M empty arrays", `${head}${"[],".repeat(1_500_000)}[]]}]}`],
      ["60k empty arrays", `${head}${"[],".repeat(60_000)}[]]}]}`],
    ] as const) {
      const path = `${url}/v2/models/${target.name}/infer`;
      const flood: Promise<Result> = Promise.resolve(
        autocannon({
          url: path,
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
          connections: 4,
          duration,
        }),
      );
      const health = await probe(`${url}/healthz`, flood);
      const r = await flood;
      row({
        model: target.name,
        refused: what,
        bodyBytes: body.length,
        connections: 4,
        durationS: duration,
        ...summary(r),
        statusCodes: r.statusCodeStats,
        healthz: health,
      });
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
});
