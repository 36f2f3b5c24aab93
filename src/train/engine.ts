// The contract every training engine implements (one step's gradients of a batch), and the
// names of the engines: tfjs on the wasm backend, or onnxruntime-node on a gradient graph.
import type { Weights } from "../nn/weights.js";
import type { Batch, StepResult } from "./step.js";

export interface GradientEngine {
  /** Worker threads (tfjs) or intra-op threads (ort) the engine computes with. */
  readonly workers: number;
  compute(weights: Weights, batch: Batch): Promise<StepResult>;
  close(): Promise<void>;
}

/** tfjs (wasm, worker threads) or onnxruntime-node (a forward + backward ONNX graph). */
export type TrainingEngineKind = "tfjs" | "ort";
export const TRAINING_ENGINE_CHOICES = ["auto", "tfjs", "ort"] as const;
export type TrainingEngineChoice = (typeof TRAINING_ENGINE_CHOICES)[number];
