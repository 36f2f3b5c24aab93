// Embedding matching of a distilled reference set for one serving embedder: the upper levels'
// references move until the embedder maps each onto the mean direction of the real images under
// it (src/distill/embedding-match.ts); writes a new reference set with the files distill.ts
// writes beside one (sheets, Fig. 9, similarity, report) and a before/after sheet.

import { createHash } from "node:crypto";
import { take } from "../src/data/dataset.js";
import { FOLDER_FLAGS, folderOptions } from "../src/data/folder-flags.js";
import { loadDataset } from "../src/data/load.js";
import {
  descendantTargets,
  MATCH_DEFAULTS,
  matchEmbeddings,
} from "../src/distill/embedding-match.js";
import { type DistillPlan, planDistillation } from "../src/distill/plan.js";
import { besideSet, writeSetFiles } from "../src/distill/set-files.js";
import { summarySheet } from "../src/distill/sheets.js";
import { loadEmbedder } from "../src/eval/embedder.js";
import { checkpointEmbedSource } from "../src/eval/onnx-embedder.js";
import { initBackend } from "../src/nn/backend.js";
import { weightsSha256 } from "../src/onnx/export.js";
import {
  type ReferenceLevel,
  type ReferenceSet,
  readReferenceSet,
  referenceLevel,
  writeReferenceSet,
} from "../src/references/reference-set.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { choice, int, list, number, readFlags, string } from "../src/util/flags.js";
import { checkWritableOutput } from "../src/util/output-check.js";
import { ProgressWriter } from "../src/util/progress-event.js";

const FLAGS = {
  references: string("the distilled reference set (scripts/distill.ts --out)", {
    required: true,
    arg: "FILE",
  }),
  embedder: string("the serving embedder's trainer checkpoint", { required: true, arg: "CKPT" }),
  data: string("the data set the references were distilled from (default: their provenance's)"),
  levels: list({ kind: "int", min: 1 }, "levels to match (the rest are copied)", {
    default: MATCH_DEFAULTS.levels,
  }),
  steps: int("Adam steps per reference", { default: MATCH_DEFAULTS.steps, min: 1 }),
  lr: number("Adam step size on pixels in [0, 1]", { default: MATCH_DEFAULTS.lr, above: 0 }),
  batch: int("references per gradient batch", { default: MATCH_DEFAULTS.batch, min: 1 }),
  threads: int("onnxruntime threads for embedding the training images", { default: 2, min: 1 }),
  out: string("the matched reference set", { required: true, arg: "FILE" }),
  progress: choice(["json", "none"], "json: one event line per update on stderr, for a parent", {
    default: "none",
  }),
  ...FOLDER_FLAGS,
};

const SCRIPT = {
  usage: "tsx scripts/match-references.ts --references FILE --embedder CKPT --out FILE [flags]",
  summary:
    "Moves the upper levels' references until the embedder maps each onto the mean direction of the real images it summarises (Eq. 5 with the embedder as feature map); writes a new reference set.",
};

/** What the plan needs from a plain distillation's provenance (not a --from run). */
function planInputs(set: ReferenceSet, source: string) {
  const p = set.provenance as {
    data?: { name?: unknown; count?: unknown; limit?: unknown };
    config?: { fanIns?: unknown; seed?: unknown };
  };
  const fanIns = p.config?.fanIns;
  const seed = p.config?.seed;
  const name = p.data?.name;
  if (
    !Array.isArray(fanIns) ||
    !Number.isInteger(seed) ||
    typeof name !== "string" ||
    !Number.isInteger(p.data?.count)
  ) {
    throw new CliError(
      `${source}: its provenance does not name the data set, fan-ins and seed of a plain distillation (re-distilled upper levels, --from, are not supported)`,
    );
  }
  return {
    fanIns: fanIns as number[],
    seed: seed as number,
    data: name,
    count: p.data?.count as number,
    limit: typeof p.data?.limit === "number" ? p.data.limit : undefined,
  };
}

/** The plan's outputs are subset-major (subset j, class c at j·classes + c); so are the levels. */
function checkOrder(plan: DistillPlan, set: ReferenceSet, source: string): void {
  for (const planned of plan.levels) {
    const level = referenceLevel(set, planned.level);
    const expected = planned.subsets * plan.classes;
    const inOrder = level.labels.every((label, i) => label === i % plan.classes);
    if (level.count !== expected || !inOrder) {
      throw new CliError(
        `${source}: level ${planned.level} does not follow its plan (${level.count} references, ${expected} planned)`,
      );
    }
  }
}

async function main() {
  const f = readFlags(SCRIPT, FLAGS);
  await checkWritableOutput(f.out, { flag: "out", kind: "file" });
  const set = await input(readReferenceSet(f.references));
  const embedder = await input(loadEmbedder(f.embedder));
  const [h, w, c] = embedder.spec.input;
  if (set.height !== h || set.width !== w || set.channels !== c) {
    throw new CliError(
      `${f.references} holds ${set.height}×${set.width}×${set.channels} images; ${embedder.spec.name} takes ${h}×${w}×${c}`,
    );
  }
  const missing = f.levels.filter((l) => !set.levels.some((s) => s.level === l));
  if (missing.length) throw new CliError(`${f.references} has no level ${missing.join(", ")}`);
  const made = planInputs(set, f.references);
  const all = await input(loadDataset(f.data ?? made.data, "train", { folder: folderOptions(f) }));
  const data = made.limit === undefined ? all : take(all, made.limit);
  if (data.count !== made.count || data.classes.length !== set.classes.length) {
    throw new CliError(
      `${f.data ?? made.data} gives ${data.count} images of ${data.classes.length} classes; the references were distilled from ${made.count} of ${set.classes.length}`,
    );
  }
  const plan = planDistillation(data.labels, set.classes.length, made.fanIns, made.seed);
  checkOrder(plan, set, f.references);

  const started = performance.now();
  const log = (line: string) =>
    process.stderr.write(
      `match-references: [${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`,
    );
  log(`embedding ${data.count} training images with ${embedder.spec.name} on onnxruntime`);
  const source = await checkpointEmbedSource(embedder, f.embedder, { threads: f.threads });
  let embeddings: Float32Array;
  try {
    embeddings = await source.embed(data.images, data.count);
  } finally {
    await source.close();
  }
  const targets = descendantTargets(plan, embeddings, embedder.dim);
  await initBackend();
  const cosine: Record<string, { before: number; after: number }> = {};
  const levels: ReferenceLevel[] = [];
  const progress =
    f.progress === "json" ? new ProgressWriter({ stage: "match", unit: "references" }) : undefined;
  const total = set.levels.reduce((n, l) => n + (f.levels.includes(l.level) ? l.count : 0), 0);
  let matchedBefore = 0;
  for (const level of set.levels) {
    if (!f.levels.includes(level.level)) {
      levels.push(level);
      continue;
    }
    log(`level ${level.level}: ${level.count} references, ${f.steps} steps`);
    const result = matchEmbeddings({
      spec: embedder.spec,
      weights: embedder.weights,
      images: level.images,
      count: level.count,
      targets: targets[level.level - 1],
      steps: f.steps,
      lr: f.lr,
      batch: f.batch,
      onBatch: (done, mean) => {
        log(
          `level ${level.level}: ${done}/${level.count} matched (mean cosine of the batch ${mean.toFixed(4)})`,
        );
        progress?.update(matchedBefore + done, total, { detail: `level ${level.level}` });
      },
    });
    matchedBefore += level.count;
    cosine[level.level] = { before: result.cosineBefore, after: result.cosineAfter };
    log(
      `level ${level.level}: mean cosine to its target ${result.cosineBefore.toFixed(4)} → ${result.cosineAfter.toFixed(4)}`,
    );
    levels.push({ ...level, images: result.images });
  }
  const sha = weightsSha256(embedder.weights);
  // Named by what was made (as distill.ts names a set): other levels, steps or embedder, other name.
  const content = createHash("sha256");
  for (const level of levels) content.update(new Uint8Array(level.images.buffer));
  const matched: ReferenceSet = {
    ...set,
    version: `${set.version}-em${content.digest("hex").slice(0, 8)}`,
    levels,
    provenance: {
      ...set.provenance,
      embeddingMatch: {
        method:
          "Adam on the pixels: each reference's embedding towards the mean direction of the real images under it",
        from: { file: f.references, version: set.version },
        embedder: { file: f.embedder, model: embedder.spec.name, weightsSha256: sha },
        levels: f.levels,
        steps: f.steps,
        lr: f.lr,
        cosine,
        seconds: (performance.now() - started) / 1000,
        command: ["tsx", "scripts/match-references.ts", ...process.argv.slice(2)].join(" "),
      },
    },
  };
  await writeReferenceSet(f.out, matched);
  await writeSetFiles(
    f.out,
    matched,
    { images: data.images, labels: data.labels, count: data.count },
    { embeddingMatch: matched.provenance.embeddingMatch },
  );
  // Rows: classes; columns: each matched level's first reference before, then after.
  const pairs = f.levels.flatMap((l) => [referenceLevel(set, l), referenceLevel(matched, l)]);
  await writeFileAtomic(
    besideSet(f.out, "matched.png"),
    await summarySheet(pairs[0], pairs.slice(1), set.classes.length, {
      height: h,
      width: w,
      channels: c,
    }),
  );
  log(`wrote ${f.out} (${matched.version})`);
}

runScript("match-references", main);
