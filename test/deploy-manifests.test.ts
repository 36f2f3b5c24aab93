// deploy/: every Kubernetes manifest parses and validates against the Kubernetes OpenAPI schema (kubernetes-models),
// and the probes, ports, paths, env and shutdown timing in the manifests and compose file match the real service.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { loadConfig } from "../src/config.js";
import { SHUTDOWN_DEADLINE_MS, startService } from "../src/service/server.js";
import { freePort } from "../src/util/free-port.js";
import { buildModelsDir, testConfig } from "./service-fixture.js";

const K8S = "deploy/kubernetes";

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked against the schema, then read as plain data
type Doc = any;

function documents(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(join(K8S, file), "utf8"));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: YAML errors`);
  return docs.map((d) => d.toJS());
}

const manifests = readdirSync(K8S)
  .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
  .flatMap((file) => documents(file).map((doc) => ({ file, doc })));
const byKind = (kind: string, name = "cgnn"): Doc => {
  const found = manifests.find((m) => m.doc.kind === kind && m.doc.metadata?.name === name);
  assert.ok(found, `a ${kind} named ${name}`);
  return found.doc;
};
const deployment = byKind("Deployment");
const pod = deployment.spec.template;
const container = pod.spec.containers[0];

/** The image's ENV lines (Dockerfile). */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync("Dockerfile", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("ENV ")))
    for (const [, k, v] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[k] = v;
  return env;
}

/** The image's ENV overridden by the container's env: what the pod's process sees. */
function podEnv(): Record<string, string> {
  const env = imageEnv();
  for (const { name, value } of container.env) env[name] = value;
  return env;
}

test("every manifest validates against the Kubernetes schema of its apiVersion and kind", async () => {
  assert.ok(manifests.length >= 6);
  for (const { file, doc } of manifests) {
    const models = await import(`kubernetes-models/${doc.apiVersion}`);
    const Model = models[doc.kind];
    assert.ok(Model, `${file}: kubernetes-models knows ${doc.apiVersion} ${doc.kind}`);
    assert.doesNotThrow(
      () => new Model(doc).validate(),
      `${file}: ${doc.kind} ${doc.metadata.name}`,
    );
  }
  // The check is real: a wrong type and a missing required field are refused.
  const { Deployment } = await import("kubernetes-models/apps/v1");
  const broken = structuredClone(deployment);
  broken.spec.template.spec.containers[0].ports[0].containerPort = "http";
  assert.throws(() => new Deployment(broken).validate(), /containerPort must be integer/);
  delete broken.spec.selector;
  assert.throws(() => new Deployment(broken).validate(), /selector/);
  const kustomization = parseYaml(readFileSync(join(K8S, "kustomization.yaml"), "utf8"));
  for (const file of kustomization.resources) assert.ok(existsSync(join(K8S, file)), file);
});

test("the pod's env gives the service a config whose port and models dir are the manifest's", () => {
  const config = loadConfig([], podEnv());
  const http = container.ports.find((p: Doc) => p.name === "http");
  assert.equal(config.port, http.containerPort);
  assert.equal(config.host, "0.0.0.0");
  const models = container.volumeMounts.find((v: Doc) => v.name === "models");
  assert.equal(config.modelsDir, models.mountPath);
  assert.equal(models.readOnly, true);
  assert.ok(config.reloadPollMs > 0, "a network volume is polled as well as watched");
  // kubelet probes the service's own probe listener (--probe-port), a port of the pod not in the Service.
  const probes = container.ports.find((p: Doc) => p.name === "probes");
  assert.equal(config.probePort, probes.containerPort);
  assert.notEqual(config.probePort, config.port);
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"])
    assert.equal(container[probe].httpGet.port, "probes", probe);
  assert.equal(pod.metadata.annotations["prometheus.io/port"], String(config.port));
  const service = byKind("Service");
  assert.equal(service.spec.ports[0].targetPort, "http");
  for (const selector of [
    service.spec.selector,
    byKind("PodDisruptionBudget").spec.selector.matchLabels,
  ])
    for (const [k, v] of Object.entries(selector)) assert.equal(pod.metadata.labels[k], v, k);
  const hpa = byKind("HorizontalPodAutoscaler").spec.scaleTargetRef;
  assert.deepEqual([hpa.kind, hpa.name], ["Deployment", "cgnn"]);
  assert.ok(byKind("HorizontalPodAutoscaler").spec.minReplicas >= 2, "the PDB leaves one serving");
  const claim = pod.spec.volumes.find((v: Doc) => v.name === "models").persistentVolumeClaim;
  byKind("PersistentVolumeClaim", claim.claimName);
});

test("the probe paths are the service's own: /healthz live at once, /readyz 503 until loaded, /metrics", async () => {
  const fixture = await buildModelsDir();
  const service = await startService(
    testConfig(fixture.dir, { engine: "microbatch", probePort: 0 }),
    () => {},
  );
  try {
    const url = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
    // The probes go to the probe listener, as kubelet's do; the main port answers the same paths too.
    const probes = `http://127.0.0.1:${service.probePort}`;
    const get = (path: string) => fetch(`${probes}${path}`).then((r) => r.status);
    assert.equal((await fetch(`${url}${container.livenessProbe.httpGet.path}`)).status, 200);
    assert.equal(await get(container.livenessProbe.httpGet.path), 200);
    assert.equal(container.readinessProbe.httpGet.path, container.startupProbe.httpGet.path);
    const early = await get(container.readinessProbe.httpGet.path);
    assert.equal(await service.loaded, true);
    assert.equal(early, 503, "not ready before the models are loaded");
    // The probe thread hears of readiness within a heartbeat (100 ms).
    const end = Date.now() + 5_000;
    while ((await get(container.readinessProbe.httpGet.path)) !== 200 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal(await get(container.readinessProbe.httpGet.path), 200);
    assert.equal((await fetch(`${url}${container.readinessProbe.httpGet.path}`)).status, 200);
    const metrics = await fetch(`${url}${pod.metadata.annotations["prometheus.io/path"]}`);
    assert.match(await metrics.text(), /^cgnn_/m);
    assert.equal((await fetch(`${url}/no-such-probe`)).status, 404, "a wrong path would fail");
    assert.equal(await get("/no-such-probe"), 404, "on the probe port too");
  } finally {
    await service.close();
    await fixture.cleanup();
  }
});

test("shutdown timing: preStop and the service's drain deadline fit in the grace period; startup fits loading", () => {
  const preStop = container.lifecycle.preStop.exec.command;
  assert.equal(preStop[0], "sleep");
  const grace = pod.spec.terminationGracePeriodSeconds;
  assert.ok(grace >= Number(preStop[1]) + SHUTDOWN_DEADLINE_MS / 1000, `grace ${grace} s`);
  const start = container.startupProbe.periodSeconds * container.startupProbe.failureThreshold;
  const dockerStart = /--start-period=(\d+)s/.exec(readFileSync("Dockerfile", "utf8"))?.[1];
  assert.ok(
    start >= Number(dockerStart),
    "the startup budget is at least the image's HEALTHCHECK start period",
  );
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
});

test("non-root with a read-only root filesystem: /tmp is the one writable mount, the publisher script ships", () => {
  const dockerfile = readFileSync("Dockerfile", "utf8");
  assert.match(dockerfile, /^USER node$/m);
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.equal(pod.spec.securityContext.runAsUser, 1000, "the node user of the node:20 images");
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  const writable = container.volumeMounts
    .filter((v: Doc) => !v.readOnly)
    .map((v: Doc) => v.mountPath);
  assert.deepEqual(writable, ["/tmp"]);
  const job = byKind("Job", "cgnn-models-publish").spec.template.spec.containers[0];
  const script = job.command[job.command.indexOf("--import") + 2];
  assert.ok(existsSync(script), script);
  assert.match(dockerfile, new RegExp(`COPY --from=build .*/app/${script.replace(/\./g, "\\.")}`));
});

test("the service started with the pod's env writes nothing in HOME and only tsx's cache in TMPDIR", async () => {
  const fixture = await buildModelsDir();
  const scratch = await mkdtemp(join(tmpdir(), "cgnn-rootfs-"));
  const [home, tmp] = [join(scratch, "home"), join(scratch, "tmp")];
  await Promise.all([home, tmp].map((d) => mkdir(d)));
  const port = await freePort();
  const probePort = await freePort();
  const env = {
    ...process.env,
    ...podEnv(),
    HOME: home,
    TMPDIR: tmp,
    PORT: String(port),
    CGNN_PROBE_PORT: String(probePort),
  };
  const child = spawn(process.execPath, ["--import", "tsx", "src/service/server.ts"], {
    env: { ...env, CGNN_MODELS_DIR: fixture.dir, HOST: "127.0.0.1" },
    stdio: "ignore",
  });
  try {
    const end = Date.now() + 60_000;
    let ready = false;
    while (!ready && Date.now() < end) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(ready, "the service became ready");
    assert.deepEqual(await readdir(home), []);
    for (const name of await readdir(tmp)) assert.match(name, /^tsx-\d+$/);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await rm(scratch, { recursive: true, force: true });
    await fixture.cleanup();
  }
});

test("compose: Prometheus scrapes the service's port and metrics path; Redis keeps an append-only file", () => {
  const compose = parseYaml(readFileSync("deploy/compose.yaml", "utf8"));
  const cgnn = compose.services.cgnn;
  const config = loadConfig([], { ...imageEnv(), ...cgnn.environment });
  assert.ok(cgnn.ports.includes(`${config.port}:${config.port}`));
  assert.equal(cgnn.read_only, true);
  assert.ok(cgnn.volumes.includes(`../models:${config.modelsDir}:ro`));
  assert.match(cgnn.healthcheck.test.join(" "), new RegExp(`:${config.port}/readyz`));
  const prometheus = parseYaml(readFileSync("deploy/prometheus/prometheus.yml", "utf8"));
  const job = prometheus.scrape_configs.find((j: Doc) => j.job_name === "cgnn");
  assert.equal(job.metrics_path, pod.metadata.annotations["prometheus.io/path"]);
  assert.deepEqual(job.static_configs[0].targets, [`cgnn:${config.port}`]);
  assert.ok(compose.services.prometheus.volumes[0].startsWith("./prometheus/prometheus.yml:"));
  const redis = compose.services.redis;
  assert.deepEqual(redis.profiles, ["distill"]);
  assert.ok(redis.command.includes("--appendonly") && redis.command.includes("noeviction"));
  const worker = compose.services["distill-worker"];
  assert.deepEqual(worker.profiles, ["distill"]);
  const script = worker.command[worker.command.indexOf("--import") + 2];
  assert.ok(existsSync(script), script);
  assert.match(
    readFileSync("Dockerfile", "utf8"),
    new RegExp(`COPY --from=build .*/app/${script.replace(/\./g, "\\.")}`),
  );
  const queueUrl = worker.command[worker.command.indexOf("--queue") + 1];
  assert.equal(queueUrl, `redis://redis:${redis.ports[0].split(":")[1]}`);
});
