// The --probe-port listener's own thread: answers /healthz and /readyz from what the main thread last published (its
// heartbeat and its readiness), so that kubelet's probes stay fast while /classify keeps the main event loop busy.
import { createServer, type ServerResponse } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import { REQUEST_ID_HEADER, requestIdOf } from "./middleware/request-id.js";

/** What the main thread sends: its readiness answer whenever it changes, then close. */
export type ProbeWorkerRequest = { readiness: { status: number; body: string } } | { close: true };
export type ProbeWorkerReply = { listening: number } | { failed: string };

export interface ProbeWorkerData {
  host: string;
  port: number;
  /** One BigInt64: Date.now() of the main thread's last heartbeat. */
  heartbeat: SharedArrayBuffer;
  /** A heartbeat older than this fails both probes: the main event loop is stuck. */
  stallMs: number;
  headers: Record<string, string>;
}

const port = parentPort;
if (!port) throw new Error("probe-worker.ts must run in a worker thread");
const data = workerData as ProbeWorkerData;
const heartbeat = new BigInt64Array(data.heartbeat);
const JSON_TYPE = "application/json; charset=utf-8";
let readiness = {
  status: 503,
  body: JSON.stringify({ status: "not_ready", reason: "models are not loaded yet" }),
};

/** How long since the main thread last ran its heartbeat, if longer than allowed. */
function stalledFor(): number | undefined {
  const age = Date.now() - Number(Atomics.load(heartbeat, 0));
  return age > data.stallMs ? age : undefined;
}

function send(res: ServerResponse, head: boolean, status: number, body: string): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(data.headers)) res.setHeader(name, value);
  res.setHeader("Content-Type", JSON_TYPE);
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

const server = createServer((req, res) => {
  res.setHeader(REQUEST_ID_HEADER, requestIdOf(req));
  const head = req.method === "HEAD";
  const path = (req.url ?? "").split("?")[0];
  if (req.method !== "GET" && !head) {
    res.setHeader("Allow", "GET, HEAD");
    const message = `${req.method} is not allowed on the probe port`;
    return send(res, head, 405, JSON.stringify({ error: { code: "method_not_allowed", message } }));
  }
  if (path !== "/healthz" && path !== "/readyz") {
    const message = `the probe port answers GET /healthz and /readyz only, not ${path}`;
    return send(res, head, 404, JSON.stringify({ error: { code: "not_found", message } }));
  }
  const stalled = stalledFor();
  if (stalled !== undefined) {
    const reason = `the main event loop has not run for ${stalled} ms`;
    return send(res, head, 503, JSON.stringify({ status: "stalled", reason }));
  }
  if (path === "/healthz") return send(res, head, 200, JSON.stringify({ status: "ok" }));
  send(res, head, readiness.status, readiness.body);
});
server.keepAliveTimeout = 65_000;

port.on("message", (message: ProbeWorkerRequest) => {
  if ("readiness" in message) {
    readiness = message.readiness;
    return;
  }
  server.close(() => port.close());
  server.closeAllConnections();
});
server.once("error", (error) => {
  port.postMessage({ failed: error.message } satisfies ProbeWorkerReply);
  port.close();
});
server.listen(data.port, data.host, () => {
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : data.port;
  port.postMessage({ listening: bound } satisfies ProbeWorkerReply);
});
