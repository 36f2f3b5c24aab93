// Exports a trainer checkpoint (safetensors with metadata.spec) to an ONNX model for serving,
// and optionally records it in models/manifest.json.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { MANIFEST_FILE, readManifest, updateManifest } from "../src/models/manifest.js";
import { outputShape } from "../src/nn/spec.js";
import { NORMALIZED_OUTPUT, writeOnnxModel } from "../src/onnx/export.js";
import { readOnnxModelMetadata } from "../src/onnx/read-metadata.js";
import { loadCheckpoint, METRICS_FILE } from "../src/train/checkpoint.js";
import { CliError, runScript } from "../src/util/cli.js";
import { choice, list, readFlags, string } from "../src/util/flags.js";
import { checkWritableOutput } from "../src/util/output-check.js";

const FLAGS = {
  checkpoint: string("the trainer checkpoint (safetensors with metadata.spec)", {
    required: true,
    arg: "FILE",
  }),
  out: string("the ONNX file to write", { required: true, arg: "FILE.onnx" }),
  name: string("the model's name (its manifest key)", { required: true }),
  version: string("the model's version", { required: true, arg: "V" }),
  labels: list({ kind: "string" }, "a classifier's labels, one per output", { arg: "0,1,…" }),
  role: choice(["embedder", "classifier"], "default: from the spec's output"),
  manifest: string("record the model in this models folder's manifest (--out inside it)", {
    arg: "DIR",
  }),
  metrics: string("final metrics (default: metrics.json beside the checkpoint)", {
    arg: "FILE.json",
  }),
  "cg-mode": choice(["auto", "slice", "matmul", "depthwise"], "how CG layers are emitted", {
    default: "auto",
  }),
};

const SCRIPT = {
  usage:
    "tsx scripts/export-onnx.ts --checkpoint FILE --out FILE.onnx --name NAME --version V [flags]",
  summary:
    "Exports a trainer checkpoint to an ONNX model for serving, optionally recorded in models/manifest.json.",
};

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8").catch(() => {
    throw new CliError(`${path}: cannot read the metrics file`);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${path}: not valid JSON`);
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
    throw new CliError(error.message);
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

/** The output and the manifest it goes into, checked before the checkpoint is read. */
async function checkOutputs(out: string, manifestDir: string | undefined): Promise<void> {
  await checkWritableOutput(out, { flag: "out", kind: "file" });
  if (manifestDir === undefined) return;
  if (relative(resolve(manifestDir), resolve(out)).startsWith("..")) {
    throw new CliError(`--out ${out} is not inside --manifest ${manifestDir}`);
  }
  await checkWritableOutput(join(manifestDir, MANIFEST_FILE), { flag: "manifest", kind: "file" });
  await readManifest(manifestDir).catch((error: Error) => {
    if (!error.message.endsWith("no manifest (file not found)")) throw new CliError(error.message);
  });
}

async function main(): Promise<void> {
  const values = readFlags(SCRIPT, FLAGS);
  const { checkpoint, out, role } = values;
  const cgMode = values["cg-mode"];
  await checkOutputs(out, values.manifest);
  const { spec, weights, metrics, data, classes, preprocessing } = await readCheckpoint(
    checkpoint,
    values.metrics,
  );
  const labels = values.labels ?? classes;
  const finalRole = role ?? (spec.output === "embedding" ? "embedder" : "classifier");
  if (finalRole === "classifier" && labels && labels.length !== outputShape(spec).at(-1)) {
    throw new CliError(
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

runScript("export-onnx", main);
