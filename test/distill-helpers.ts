// Tiny synthetic data for the distillation tests.
import { rng } from "../src/util/random.js";

/** Three classes of 12×12 images: a bright top band, left band or centre blob, plus noise. */
export function toyProblem(perClass: number, seed: number) {
  const random = rng(seed);
  const labels: number[] = [];
  const images = new Float32Array(3 * perClass * 144);
  for (let i = 0; i < 3 * perClass; i++) {
    const c = i % 3;
    labels.push(c);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 12; x++) {
        const on = c === 0 ? y < 4 : c === 1 ? x < 4 : Math.abs(x - 5.5) + Math.abs(y - 5.5) < 4;
        images[i * 144 + y * 12 + x] = Math.min(1, (on ? 0.8 : 0.05) + 0.2 * random());
      }
    }
  }
  return { images, labels, classes: 3, shape: [12, 12, 1] as [number, number, number], seed };
}

/** The toy problem as a data set for the pipeline. */
export function toyData(perClass: number, seed: number) {
  const p = toyProblem(perClass, seed);
  return {
    name: "toy",
    images: p.images,
    labels: Uint8Array.from(p.labels),
    shape: p.shape,
    classes: ["top", "left", "centre"],
  };
}
