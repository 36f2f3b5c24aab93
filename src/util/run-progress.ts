// The whole run's progress from its stages' events: each stage weighted by its expected cost,
// the overall fraction, and an overall ETA from the pace measured so far. Pure; the clock is injected.
import type { ProgressEvent } from "./progress-event.js";

export interface StagePlan {
  name: string;
  /** Expected cost in any unit common to all stages (the pipeline: multiply-accumulates). */
  weight: number;
}

export type StageState = "pending" | "running" | "done" | "resumed";

export interface StageSnapshot {
  index: number;
  name: string;
  state: StageState;
  /** The stage's own last event, if it sent one. */
  event?: ProgressEvent;
  /** Seconds it has run (running) or took (done). */
  seconds: number;
  /** Its weight's share of all the stages' (0 when they all weigh nothing). */
  share: number;
}

export interface RunSnapshot {
  /** 0..1, never decreasing. */
  fraction: number;
  /** Seconds left for the whole run; null until a pace has been measured. */
  etaSeconds: number | null;
  elapsedSeconds: number;
  current?: StageSnapshot;
  stages: StageSnapshot[];
}

interface Stage extends StagePlan {
  state: StageState;
  event?: ProgressEvent;
  started?: number;
  seconds: number;
}

/**
 * Resumed stages count as done but not as pace: the ETA's seconds per unit of weight is the time
 * this run has spent on its stages over the weight they have finished here (a running stage's
 * part from its events, less what it restored from a checkpoint). The running stage's remaining
 * time is its own ETA when it sends one; later stages take their weight times that pace.
 */
export class RunProgress {
  private readonly stages: Stage[];
  private readonly began: number;
  private fraction = 0;

  constructor(
    plans: StagePlan[],
    private readonly now: () => number = () => performance.now(),
  ) {
    this.stages = plans.map((p) => ({
      ...p,
      weight: Math.max(0, p.weight),
      state: "pending",
      seconds: 0,
    }));
    this.began = now();
  }

  get count(): number {
    return this.stages.length;
  }

  /** The stage's output exists from an earlier run: done, and no part of the pace. */
  resumed(index: number): void {
    this.stages[index].state = "resumed";
  }

  start(index: number): void {
    Object.assign(this.stages[index], { state: "running", started: this.now(), event: undefined });
  }

  /** An event of the running stage (ignored when none runs). */
  apply(event: ProgressEvent): void {
    const stage = this.stages.find((s) => s.state === "running");
    if (stage) stage.event = event;
  }

  /** The running stage `index` finished; returns its seconds. */
  finish(index: number): number {
    const stage = this.stages[index];
    stage.seconds = (this.now() - (stage.started ?? this.now())) / 1000;
    stage.state = "done";
    return stage.seconds;
  }

  snapshot(): RunSnapshot {
    const now = this.now();
    const total = this.stages.reduce((n, s) => n + s.weight, 0);
    let finished = 0;
    let workHere = 0;
    let secondsHere = 0;
    let current: Stage | undefined;
    for (const s of this.stages) {
      if (s.state === "resumed") finished += s.weight;
      if (s.state === "done") {
        finished += s.weight;
        workHere += s.weight;
        secondsHere += s.seconds;
      }
      if (s.state === "running") {
        current = s;
        s.seconds = (now - (s.started ?? now)) / 1000;
        secondsHere += s.seconds;
        if (s.event) {
          finished += (s.weight * s.event.done) / s.event.total;
          workHere += (s.weight * (s.event.done - s.event.resumed)) / s.event.total;
        }
      }
    }
    const byCount = this.stages.filter((s) => s.state === "done" || s.state === "resumed").length;
    const raw = total > 0 ? finished / total : byCount / Math.max(this.stages.length, 1);
    this.fraction = Math.min(1, Math.max(this.fraction, raw));
    const pace = workHere > 0 ? secondsHere / workHere : undefined;
    const pending = this.stages
      .filter((s) => s.state === "pending")
      .reduce((n, s) => n + s.weight, 0);
    let left: number | undefined = 0;
    if (current) {
      const share = current.event ? 1 - current.event.done / current.event.total : 1;
      left =
        current.event?.etaSeconds ??
        (pace !== undefined ? pace * current.weight * share : undefined);
    }
    const later = pending === 0 ? 0 : pace !== undefined ? pace * pending : undefined;
    const etaSeconds = left !== undefined && later !== undefined ? left + later : null;
    const stages = this.stages.map((s, index) => this.view(s, index, total));
    const index = current ? this.stages.indexOf(current) : -1;
    return {
      fraction: this.fraction,
      etaSeconds,
      elapsedSeconds: (now - this.began) / 1000,
      ...(index >= 0 ? { current: stages[index] } : {}),
      stages,
    };
  }

  private view(s: Stage, index: number, total: number): StageSnapshot {
    return {
      index,
      name: s.name,
      state: s.state,
      seconds: s.seconds,
      share: total > 0 ? s.weight / total : 0,
      ...(s.event ? { event: s.event } : {}),
    };
  }
}
