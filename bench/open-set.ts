// Open-set figures over HTTP: serves a models folder, uploads held-back in-distribution test
// images and out-of-distribution ones (another data set, noise, blank images) to /classify with
// the threshold off, then per level says how often each is answered "unknown" at the manifest's
// threshold and at one calibrated on the other half of the held-back images. JSON lines.
import type { AddressInfo } from "node:net";
import { loadConfig } from "../src/config.js";
import type { Dataset } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/load.js";
import { encodePng } from "../src/data/png-encode.js";
import { calibrateMinSimilarity, isUnknown } from "../src/index/open-set.js";
import { silentLogger } from "../src/service/log.js";
import { startService } from "../src/service/server.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { int, list, number, readFlags, string } from "../src/util/flags.js";
import { rng } from "../src/util/random.js";
import { type ClassifyAnswer, classifyPngs } from "./classify-client.js";

const FLAGS = {
  "models-dir": string("the models folder served", { default: "models", arg: "DIR" }),
  data: string("the in-distribution data set (its test split; mnist, fashion, idx:DIR…)", {
    default: "mnist",
  }),
  ood: list({ kind: "string" }, "out-of-distribution data sets (their test splits)", {
    default: ["fashion"],
  }),
  count: int("images per set; the in-distribution test split gives two disjoint halves", {
    default: 1000,
    min: 1,
  }),
  levels: list({ kind: "int", min: 1, max: 5 }, "levels to query (default: the set's)"),
  "accept-rate": number("calibration: share of held-back in-distribution images kept", {
    default: 0.95,
    above: 0,
    max: 1,
  }),
  batch: int("images per request", { default: 32, min: 1, max: 1024 }),
};

const SCRIPT = {
  usage: "tsx bench/open-set.ts [--models-dir models] [--data mnist] [--ood fashion] [flags]",
  summary:
    "Open-set rejection over HTTP: how often out-of-distribution uploads are answered unknown, and what the threshold costs in-distribution.",
};

interface Upload {
  png: Buffer;
  /** The class name an in-distribution image should get; undefined out of distribution. */
  label?: string;
}

/** Test images [from, from + count) of `data` as PNG uploads of their own size and channels. */
function uploads(data: Dataset, from: number, count: number, labelled: boolean): Upload[] {
  const size = data.height * data.width * data.channels;
  if (from + count > data.count) {
    throw new CliError(`${data.name} has ${data.count} test images, ${from + count} needed`);
  }
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const pixels = data.images.subarray(i * size, (i + 1) * size);
    const png = encodePng(pixels, data.width, data.height, data.channels);
    return labelled ? { png, label: data.classes[data.labels[i]] } : { png };
  });
}

function synthetic(kind: "noise" | "black" | "white", count: number, shape: number[]): Upload[] {
  const [h, w, c] = shape;
  const random = rng(7);
  return Array.from({ length: count }, () => {
    const pixels = Float32Array.from({ length: h * w * c }, () =>
      kind === "noise" ? random() : kind === "white" ? 1 : 0,
    );
    return { png: encodePng(pixels, w, h, c) };
  });
}

runScript("open-set", async () => {
  const f = readFlags(SCRIPT, FLAGS);
  const data = await input(loadDataset(f.data, "test"));
  const half = Math.floor(data.count / 2);
  if (f.count > half) throw new CliError(`--count ${f.count}: ${data.name} holds ${half} per half`);
  const shape = [data.height, data.width, data.channels];
  const sets: [string, Upload[]][] = [
    [`${data.name} (calibration half)`, uploads(data, 0, f.count, true)],
    [data.name, uploads(data, half, f.count, true)],
  ];
  for (const name of f.ood) {
    const other = await input(loadDataset(name, "test"));
    sets.push([name, uploads(other, 0, f.count, false)]);
  }
  sets.push(["uniform noise", synthetic("noise", f.count, shape)]);
  sets.push(["blank black", synthetic("black", 1, shape)]);
  sets.push(["blank white", synthetic("white", 1, shape)]);

  const config = loadConfig([], { CGNN_MODELS_DIR: f["models-dir"], PORT: "0", HOST: "127.0.0.1" });
  const service = await startService({ ...config, maxImagesPerRequest: f.batch }, silentLogger);
  try {
    if (!(await service.loaded)) throw new CliError(`${f["models-dir"]}: the models did not load`);
    const base = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
    const entry = service.state.current?.referencesEntry;
    const levels = f.levels ?? entry?.levels ?? [1, 2, 3, 4, 5];
    for (const level of levels) {
      const started = performance.now();
      const answers = new Map<string, ClassifyAnswer[]>();
      for (const [name, images] of sets) {
        answers.set(
          name,
          await classifyPngs(
            base,
            level,
            images.map((i) => i.png),
            f.batch,
          ),
        );
      }
      const calibration = answers.get(sets[0][0])!.map((a) => a.similarity);
      const thresholds: [string, number | undefined][] = [
        ["none", undefined],
        ["manifest", entry?.minSimilarity?.[String(level)]],
        [`calibrated ${f["accept-rate"]}`, calibrateMinSimilarity(calibration, f["accept-rate"])],
      ];
      for (const [source, threshold] of thresholds) {
        if (source === "manifest" && threshold === undefined) continue;
        // The calibration half too: its rates are the calibration's by construction, its accuracy
        // compares with scripts/evaluate.ts on the same first test images.
        for (const [name, images] of sets) {
          const got = answers.get(name)!;
          const unknown = got.filter((a) => isUnknown(a.similarity, threshold)).length;
          const line: Record<string, unknown> = {
            bench: "open-set",
            modelsDir: f["models-dir"],
            level,
            threshold: threshold === undefined ? null : Number(threshold.toFixed(4)),
            thresholdSource: source,
            set: name,
            images: images.length,
            unknownRate: Number((unknown / images.length).toFixed(4)),
          };
          if (images[0].label !== undefined) {
            const right = got.filter((a, i) => a.label === images[i].label).length;
            // accuracy: the nearest reference's class is right; answeredRight: and not "unknown".
            line.accuracy = Number((right / images.length).toFixed(4));
            const kept = got.filter(
              (a, i) => a.label === images[i].label && !isUnknown(a.similarity, threshold),
            ).length;
            line.accuracyAnsweredRight = Number((kept / images.length).toFixed(4));
          }
          line.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
          process.stdout.write(`${JSON.stringify(line)}\n`);
        }
      }
    }
  } finally {
    await service.close();
  }
});
