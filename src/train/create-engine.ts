// Chooses and starts a training engine: "auto" picks onnxruntime where its gradient graph
// covers the model, tfjs otherwise; tfjs runs in this thread or on worker threads.
import type { Weights } from "../nn/weights.js";
import type { GradientEngine, TrainingEngineChoice, TrainingEngineKind } from "./engine.js";
import { ortUnsupported } from "./ort/grad-graph.js";
import { LocalGradients, ParallelGradients } from "./parallel.js";
import type { StepModel } from "./step.js";

/** "auto" → ort when the ORT graph supports the model, else tfjs; "ort" on an unsupported model throws. */
export function resolveEngine(
  choice: TrainingEngineChoice,
  model: Pick<StepModel, "spec" | "head">,
): TrainingEngineKind {
  const reason = ortUnsupported(model.spec, model.head);
  if (choice === "ort" && reason) {
    throw new Error(`engine ort cannot train ${model.spec.name}: unsupported ${reason}`);
  }
  if (choice === "auto") return reason ? "tfjs" : "ort";
  return choice;
}

/** With engine "ort", `workers` is the number of onnxruntime intra-op threads. */
export async function createGradientEngine(
  model: StepModel,
  weights: Weights,
  workers: number,
  engine: TrainingEngineKind = "tfjs",
): Promise<GradientEngine> {
  if (engine === "ort") {
    const { OrtGradients } = await import("./ort/engine.js");
    return OrtGradients.create(model, { threads: workers });
  }
  return workers > 1 ? ParallelGradients.start(model, weights, workers) : new LocalGradients(model);
}
