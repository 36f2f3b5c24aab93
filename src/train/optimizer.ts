// Adam(W) and SGD with momentum on Float32Arrays (cheap next to the gradients, exact to
// checkpoint), plus the learning-rate schedules.
export type OptimizerKind = "adam" | "sgd";
export type ScheduleKind = "cosine" | "constant";

export interface OptimizerConfig {
  kind: OptimizerKind;
  /** SGD momentum (ignored by Adam). */
  momentum: number;
  /** Decoupled (AdamW) for Adam, L2 added to the gradient for SGD; only on rank ≥ 2 params. */
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface ParamRef {
  name: string;
  data: Float32Array;
  rank: number;
}

/** Serialisable optimizer state: step count and per-parameter slots ("m", "v" or "velocity"). */
export interface OptimizerState {
  step: number;
  slots: Record<string, Float32Array>;
}

export class Optimizer {
  private step = 0;
  private readonly slots = new Map<string, Float32Array>();

  constructor(private readonly config: OptimizerConfig) {}

  private slot(key: string, size: number): Float32Array {
    let s = this.slots.get(key);
    if (!s) {
      s = new Float32Array(size);
      this.slots.set(key, s);
    }
    return s;
  }

  /** Updates every parameter in place with its gradient at learning rate lr. */
  apply(params: ParamRef[], grads: Record<string, Float32Array>, lr: number): void {
    this.step++;
    const { kind, momentum, weightDecay } = this.config;
    for (const p of params) {
      const g = grads[p.name];
      if (!g) throw new Error(`optimizer: no gradient for ${p.name}`);
      const w = p.data;
      const decay = p.rank >= 2 ? weightDecay : 0;
      if (kind === "sgd") {
        const v = this.slot(`velocity.${p.name}`, w.length);
        for (let i = 0; i < w.length; i++) {
          const gi = g[i] + decay * w[i];
          v[i] = momentum * v[i] + gi;
          w[i] -= lr * v[i];
        }
        continue;
      }
      const b1 = this.config.beta1 ?? 0.9;
      const b2 = this.config.beta2 ?? 0.999;
      const eps = this.config.epsilon ?? 1e-8;
      const m = this.slot(`m.${p.name}`, w.length);
      const v = this.slot(`v.${p.name}`, w.length);
      const c1 = 1 - b1 ** this.step;
      const c2 = 1 - b2 ** this.step;
      const shrink = 1 - lr * decay;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] = w[i] * shrink - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    }
  }

  state(): OptimizerState {
    return { step: this.step, slots: Object.fromEntries(this.slots) };
  }

  load(state: OptimizerState): void {
    this.step = state.step;
    this.slots.clear();
    for (const [k, v] of Object.entries(state.slots)) this.slots.set(k, Float32Array.from(v));
  }
}

/** Learning rate at global step `step` of `total`. */
export function scheduledLr(kind: ScheduleKind, lr: number, step: number, total: number): number {
  if (kind === "constant" || total <= 1) return lr;
  return 0.5 * lr * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}
