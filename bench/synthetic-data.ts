// Seeded random images with labels cycling 0..9, shaped for a benchmark model's input.
import type { Dataset } from "../src/data/dataset.js";
import type { ModelSpec } from "../src/nn/spec.js";
import { rng } from "../src/util/random.js";

export function syntheticData(spec: ModelSpec, count: number): Dataset {
  const [height, width, channels] = spec.input;
  const random = rng(1);
  const images = Float32Array.from({ length: count * height * width * channels }, random);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  return { name: "synthetic", images, labels, count, height, width, channels, classes };
}
