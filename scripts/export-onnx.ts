// Exports a trainer checkpoint (safetensors with metadata.spec) to an ONNX model for serving,
// and optionally records it in models/manifest.json.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { updateManifest } from "../src/models/manifest.js";
import { outputShape } from "../src/nn/spec.js";
import { NORMALIZED_OUTPUT, writeOnnxModel } from "../src/onnx/export.js";
import { readOnnxModelMetadata } from "../src/onnx/runtime.js";
import { loadCheckpoint, METRICS_FILE } from "../src/train/checkpoint.js";

const USAGE =
  "usage: export-onnx --checkpoint FILE --out FILE.onnx --name NAME --version V [--labels 0,1,...] [--role embedder|classifier] [--manifest DIR] [--metrics FILE.json] [--cg-mode auto|slice|matmul|depthwise]";

class UsageError extends Error {}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8").catch(() => {
    throw new UsageError(`${path}: cannot read the metrics file`);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${path}: not valid JSON`);
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The checkpoint, its final metrics (metrics.json beside it, else the last epoch) and data. */
async function readCheckpoint(path: string, metricsPath: string | undefined) {
  const ckpt = await loadCheckpoint(path).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  const beside = join(dirname(path), METRICS_FILE);
  const file = metricsPath ?? (existsSync(beside) ? beside : undefined);
  const metrics =
    (file ? asRecord(await readJsonFile(file)) : undefined) ?? asRecord(ckpt.metrics.at(-1)) ?? {};
  const { trainData, trainCount } = ckpt.config;
  const data = trainData === undefined ? undefined : { name: trainData, count: trainCount };
  // Names and preprocessing of the training data (checkpoints from before they were recorded lack them).
  const classes = Array.isArray(ckpt.config.classes)
    ? (ckpt.config.classes as string[])
    : undefined;
  const preprocessing = asRecord(ckpt.config.preprocessing);
  return { spec: ckpt.spec, weights: ckpt.weights, metrics, data, classes, preprocessing };
}

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        checkpoint: { type: "string" },
        out: { type: "string" },
        name: { type: "string" },
        version: { type: "string" },
        labels: { type: "string" },
        role: { type: "string" },
        manifest: { type: "string" },
        metrics: { type: "string" },
        "cg-mode": { type: "string", default: "auto" },
      },
      strict: true,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  for (const flag of ["checkpoint", "out", "name", "version"]) {
    if (!values[flag]) throw new UsageError(`missing --${flag}\n${USAGE}`);
  }
  const role = values.role;
  if (role !== undefined && role !== "embedder" && role !== "classifier") {
    throw new UsageError(`--role must be embedder or classifier, got ${role}`);
  }
  const cgMode = values["cg-mode"];
  if (cgMode !== "slice" && cgMode !== "depthwise" && cgMode !== "matmul" && cgMode !== "auto") {
    throw new UsageError(`--cg-mode must be auto, slice, matmul or depthwise, got ${cgMode}`);
  }
  const checkpoint = values.checkpoint!;
  const out = values.out!;
  const { spec, weights, metrics, data, classes, preprocessing } = await readCheckpoint(
    checkpoint,
    values.metrics,
  );
  const finalRole = role ?? (spec.output === "embedding" ? "embedder" : "classifier");
  const labels = values.labels?.split(",").map((l) => l.trim()) ?? classes;
  if (finalRole === "classifier" && labels && labels.length !== outputShape(spec).at(-1)) {
    throw new UsageError(
      `--labels gives ${labels.length} labels but ${spec.name} has ${outputShape(spec).at(-1)} outputs`,
    );
  }
  const command = ["tsx", "scripts/export-onnx.ts", ...process.argv.slice(2)].join(" ");
  const written = await writeOnnxModel(out, spec, weights, {
    name: values.name,
    version: values.version,
    role: finalRole,
    labels,
    metrics,
    data,
    command,
    normalizedOutput: finalRole === "embedder",
    cgMode,
    preprocessing,
  });
  const meta = await readOnnxModelMetadata(out);
  if (values.manifest) {
    const dir = values.manifest;
    const file = relative(resolve(dir), resolve(out));
    if (file.startsWith("..")) throw new UsageError(`--out ${out} is not inside --manifest ${dir}`);
    await updateManifest(dir, (manifest) => {
      manifest.models[meta.name] = {
        file,
        sha256: written.sha256,
        role: meta.role,
        format: "onnx",
        version: meta.version,
        input: {
          shape: meta.input.shape,
          layout: "NHWC",
          range: meta.input.range,
          preprocessing: meta.input.preprocessing,
        },
        output: {
          name: meta.outputs[0].name,
          shape: meta.outputs[0].shape,
          ...(meta.outputs.some((o) => o.name === NORMALIZED_OUTPUT)
            ? { normalized: NORMALIZED_OUTPUT }
            : {}),
        },
        labels: meta.labels,
        metrics: meta.metrics,
        data:
          typeof meta.data === "string" || (meta.data && typeof meta.data === "object")
            ? (meta.data as string | Record<string, unknown>)
            : undefined,
        weightsSha256: meta.weightsSha256,
        command,
        createdAt: meta.createdAt,
      };
      return manifest;
    });
  }
  process.stdout.write(
    `${JSON.stringify({ out, bytes: written.bytes, sha256: written.sha256, name: meta.name, version: meta.version, role: meta.role })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`export-onnx: ${error.message}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
