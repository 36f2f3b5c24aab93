// The distillation benches' fixed problem: the first level-1 subset of the shipped MNIST plan
// (fan-ins 10,6,5,5,4), its real images and classes, as one DM subset problem.
import { loadDataset } from "../src/data/load.js";
import { planDistillation, subsetSeed } from "../src/distill/plan.js";

export async function firstMnistSubset() {
  const data = await loadDataset("mnist", "train");
  const plan = planDistillation(data.labels, 10, [10, 6, 5, 5, 4], 1);
  const members = plan.levels[0].members[0];
  const labels = members.flatMap((m, c) => m.map(() => c));
  const images = new Float32Array(labels.length * 784);
  members.flat().forEach((index, k) => {
    images.set(data.images.subarray(index * 784, (index + 1) * 784), k * 784);
  });
  return {
    images,
    labels,
    classes: 10,
    shape: [28, 28, 1] as [number, number, number],
    seed: subsetSeed(1, 1, 0),
  };
}
