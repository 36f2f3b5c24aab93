// Accuracy under distribution shift, over HTTP: serves each models folder in turn and uploads the
// same held-back test images as they are and altered the way real uploads differ from the
// training set (dark ink on a larger light page with noise, bold or blurred strokes, rotation, a
// small off-centre digit), so that a candidate embedder is compared with the shipped one on more
// than its own test split before it ships. JSON lines, one per folder × variant × level.
import type { AddressInfo } from "node:net";
import { loadConfig } from "../src/config.js";
import { affineJitter } from "../src/data/augment.js";
import type { Dataset } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/load.js";
import { encodePng } from "../src/data/png-encode.js";
import { silentLogger } from "../src/service/log.js";
import { startService } from "../src/service/server.js";
import { CliError, input, runScript } from "../src/util/cli.js";
import { int, list, readFlags, string } from "../src/util/flags.js";
import { rng } from "../src/util/random.js";
import { classifyPngs } from "./classify-client.js";

const VARIANTS = [
  "clean",
  "ink-on-paper",
  "bold",
  "blur",
  "rotate-20",
  "small-off-centre",
] as const;
type Variant = (typeof VARIANTS)[number];

const FLAGS = {
  "models-dir": list({ kind: "string" }, "models folders to compare, served one after another", {
    default: ["models"],
  }),
  data: string("the data set whose test split is uploaded (one channel)", { default: "mnist" }),
  count: int("test images per variant", { default: 1000, min: 1 }),
  from: int("first test image", { default: 0, min: 0 }),
  levels: list({ kind: "int", min: 1, max: 5 }, "levels to query (default: each set's default)"),
  variants: list({ kind: "choice", choices: VARIANTS }, "variants to send", {
    default: [...VARIANTS],
  }),
  batch: int("images per request", { default: 32, min: 1, max: 1024 }),
};

const SCRIPT = {
  usage: "tsx bench/robustness.ts [--models-dir models,OTHER] [--count 1000] [flags]",
  summary:
    "Accuracy by angle over HTTP on held-back test images as they are and altered like real uploads (ink on paper, bold, blur, rotation, off-centre).",
};

interface Picture {
  pixels: Float32Array;
  width: number;
  height: number;
}

/** 3×3 maximum (bold strokes) or mean (blur) of a one-channel image. */
function filter3(p: Picture, kind: "max" | "mean"): Picture {
  const { width: w, height: h, pixels } = p;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          const v = pixels[yy * w + xx];
          acc = kind === "max" ? Math.max(acc, v) : acc + v;
          n++;
        }
      }
      out[y * w + x] = kind === "max" ? acc : acc / n;
    }
  }
  return { width: w, height: h, pixels: out };
}

/** One fixed affine map through the training augmentation's warp (`random` ≡ 0 or 1 picks ∓). */
function warpFixed(p: Picture, jitter: Parameters<typeof affineJitter>[0], sign: 0 | 1): Picture {
  const pixels = Float32Array.from(p.pixels);
  affineJitter(jitter)(pixels, 1, [p.height, p.width, 1], () => sign);
  return { ...p, pixels };
}

/** Dark ink on a 48×48 light page: the digit inverted, grey ink, a paper tint, offset, noise. */
function inkOnPaper(p: Picture, random: () => number): Picture {
  const side = 48;
  const pixels = new Float32Array(side * side);
  const top = 4 + Math.floor(random() * 14);
  const left = 4 + Math.floor(random() * 14);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const yy = y - top;
      const xx = x - left;
      const ink =
        yy >= 0 && yy < p.height && xx >= 0 && xx < p.width ? p.pixels[yy * p.width + xx] : 0;
      const paper = 0.88 + 0.04 * (x / side);
      const noise = (random() + random() + random() - 1.5) * 0.05;
      pixels[y * side + x] = Math.min(1, Math.max(0, paper - 0.7 * ink + noise));
    }
  }
  return { width: side, height: side, pixels };
}

function alter(p: Picture, variant: Variant, index: number, random: () => number): Picture {
  switch (variant) {
    case "clean":
      return p;
    case "ink-on-paper":
      return inkOnPaper(p, random);
    case "bold":
      return filter3(p, "max");
    case "blur":
      return filter3(filter3(p, "mean"), "mean");
    case "rotate-20":
      return warpFixed(p, { shift: 0, rotate: 20, scale: 0 }, index % 2 === 0 ? 0 : 1);
    case "small-off-centre":
      // zoom 0.6 and a 4-pixel shift up and left (uniform() = −1 for every draw).
      return warpFixed(p, { shift: 0.15, rotate: 0, scale: 0.4 }, 0);
  }
}

interface Upload {
  png: Buffer;
  label: string;
}

function uploads(data: Dataset, from: number, count: number, variant: Variant): Upload[] {
  if (data.channels !== 1) throw new CliError(`${data.name}: the variants are for one channel`);
  const size = data.height * data.width;
  if (from + count > data.count) {
    throw new CliError(`${data.name} has ${data.count} test images, ${from + count} needed`);
  }
  const random = rng(11);
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const original = {
      pixels: data.images.subarray(i * size, (i + 1) * size),
      width: data.width,
      height: data.height,
    };
    const p = alter(original, variant, i, random);
    return { png: encodePng(p.pixels, p.width, p.height, 1), label: data.classes[data.labels[i]] };
  });
}

async function accuracy(base: string, level: number, images: Upload[], batch: number) {
  const answers = await classifyPngs(
    base,
    level,
    images.map((i) => i.png),
    batch,
  );
  return answers.filter((a, i) => a.label === images[i].label).length / images.length;
}

runScript("robustness", async () => {
  const f = readFlags(SCRIPT, FLAGS);
  const data = await input(loadDataset(f.data, "test"));
  const sets = f.variants.map((v) => [v, uploads(data, f.from, f.count, v)] as const);
  for (const dir of f["models-dir"]) {
    const config = loadConfig([], { CGNN_MODELS_DIR: dir, PORT: "0", HOST: "127.0.0.1" });
    const service = await startService({ ...config, maxImagesPerRequest: f.batch }, silentLogger);
    try {
      if (!(await service.loaded)) throw new CliError(`${dir}: the models did not load`);
      const base = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
      const set = service.state.current!;
      const levels = f.levels ?? [set.referencesEntry.defaultLevel ?? 5];
      for (const level of levels) {
        for (const [variant, images] of sets) {
          const started = performance.now();
          const acc = await accuracy(base, level, images, f.batch);
          const line = {
            bench: "robustness",
            modelsDir: dir,
            embedder: `${set.embedder.name}@${set.embedder.entry.version}`,
            references: set.references.version,
            level,
            variant,
            images: images.length,
            accuracy: Number(acc.toFixed(4)),
            seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
          };
          process.stdout.write(`${JSON.stringify(line)}\n`);
        }
      }
    } finally {
      await service.close();
    }
  }
});
