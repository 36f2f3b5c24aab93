// The serving set in use, swapped in one step; each request leases it so a retired set closes only once drained.
import { closeServingSet, type ServingSet } from "./serving-set.js";

interface Slot {
  set: ServingSet;
  inflight: number;
  retired: boolean;
  closed?: Promise<void>;
}

/** Why the service is not ready: what /readyz answers with its 503. */
export interface Unreadiness {
  status: "not_ready" | "shutting_down";
  reason: string;
  /** Models that cannot run now (no live inference worker). */
  models?: string[];
}

/** What the last reload attempt did: /v1/models shows it, operators read why a new set is not serving. */
export interface ReloadStatus {
  status: "ok" | "failed" | "never";
  /** The last attempt's reason and end time. */
  reason?: string;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  /** Why the last attempt failed (status "failed"). */
  error?: string;
  /** Failed attempts in a row. */
  failures: number;
  /** When the next retry runs (status "failed" and not shut down). */
  nextRetryAt?: string;
}

export interface Lease {
  set: ServingSet;
  release(): void;
}

export class ServingState {
  private slot?: Slot;
  private readonly retiring = new Set<Slot>();
  private stopping = false;
  /** The last reload attempt's outcome (the Reloader keeps it; /v1/models shows it). */
  reload: ReloadStatus = { status: "never", failures: 0 };

  /** True from the shutdown signal on: /readyz answers 503, responses close their connection. */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Marks the start of shutdown (requests are still served until the server closes). */
  beginShutdown(): void {
    this.stopping = true;
  }

  /** True while models are loaded, every model can run and shutdown has not begun. */
  get ready(): boolean {
    return this.unreadiness === undefined;
  }

  /** Why the service is not ready, or undefined when it is. */
  get unreadiness(): Unreadiness | undefined {
    if (this.stopping) return { status: "shutting_down", reason: "the service is shutting down" };
    if (!this.slot) return { status: "not_ready", reason: "models are not loaded yet" };
    const down = [...this.slot.set.models.values()].filter((m) => !m.engine.alive);
    if (down.length === 0) return undefined;
    const models = down.map((m) => m.name);
    return {
      status: "not_ready",
      reason: `no live inference worker for model ${models.join(", ")} (being restarted)`,
      models,
    };
  }

  /** Requests holding a lease on the current set. */
  get inflight(): number {
    return this.slot?.inflight ?? 0;
  }

  /** Retired sets still waiting for their requests to finish. */
  get draining(): number {
    return this.retiring.size;
  }

  /** The current set (no lease): for metadata that needs no open session. */
  get current(): ServingSet | undefined {
    return this.slot?.set;
  }

  /** Leases the current set until `release()`; undefined while nothing is loaded. */
  acquire(): Lease | undefined {
    const slot = this.slot;
    if (!slot) return undefined;
    slot.inflight++;
    let released = false;
    return {
      set: slot.set,
      release: () => {
        if (released) return;
        released = true;
        slot.inflight--;
        this.closeIfDrained(slot);
      },
    };
  }

  /** Makes `set` current; the previous one closes once its in-flight requests have finished. */
  swap(set: ServingSet): void {
    const old = this.slot;
    this.slot = { set, inflight: 0, retired: false };
    if (old) this.retire(old);
  }

  /** Stops serving and closes every set once drained. */
  async close(): Promise<void> {
    const old = this.slot;
    this.slot = undefined;
    if (old) this.retire(old);
    while (this.retiring.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  private retire(slot: Slot): void {
    slot.retired = true;
    this.retiring.add(slot);
    this.closeIfDrained(slot);
  }

  private closeIfDrained(slot: Slot): void {
    if (!slot.retired || slot.inflight > 0 || slot.closed) return;
    slot.closed = closeServingSet(slot.set).finally(() => this.retiring.delete(slot));
  }
}
