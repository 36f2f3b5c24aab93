// Hot reload: on a manifest change (fs.watch + debounce, or a poll for network volumes), a Kubernetes-style
// `..data` symlink swap of the models directory, or SIGHUP, build and verify a new serving set, then swap
// it in; a failed reload is tried again with backoff until a good set arrives (the old one serves meanwhile).
import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config.js";
import { MANIFEST_FILE } from "../models/manifest.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { closeServingSet, loadServingSet, type ServingSet } from "./serving-set.js";
import type { ReloadStatus, ServingState } from "./state.js";

/**
 * The entry a kubelet (ConfigMap, Secret, projected volumes) or git-sync swaps atomically: it writes a new
 * timestamped folder, points `..data_tmp` at it and renames that over `..data`, so `manifest.json` (a link
 * through `..data`) changes without any event naming it.
 */
export const SWAPPED_DATA_LINK = "..data";

/** The names in the models directory whose change may mean a new manifest. */
const WATCHED_NAMES = new Set([MANIFEST_FILE, SWAPPED_DATA_LINK]);

export type LoadFn = (config: Config, metrics: Metrics, log: Logger) => Promise<ServingSet>;

/** Longest wait between retries of a failing reload. */
export const MAX_RELOAD_RETRY_MS = 60_000;

export class Reloader {
  private running?: Promise<boolean>;
  private again = false;
  private manifestHash?: string;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private poller?: NodeJS.Timeout;
  private polledHash?: string;
  private readonly onSighup = () => void this.reload("SIGHUP", true);

  constructor(
    private readonly config: Config,
    private readonly metrics: Metrics,
    private readonly state: ServingState,
    private readonly log: Logger,
    private readonly load: LoadFn = loadServingSet,
  ) {}

  /**
   * Loads a new set and swaps it in; resolves true on a swap. Failures keep the old set serving,
   * are logged and counted. Reloads never overlap: one asked for during a reload runs after it.
   */
  reload(reason: string, force = false): Promise<boolean> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.doReload(reason, force).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.reload(`${reason} (queued)`, force);
      }
    });
    return this.running;
  }

  /** The last attempt's outcome (a copy). */
  get status(): ReloadStatus {
    return { ...this.last };
  }

  private get last(): ReloadStatus {
    return this.state.reload;
  }

  private set last(status: ReloadStatus) {
    this.state.reload = status;
  }

  private async doReload(reason: string, force: boolean): Promise<boolean> {
    const started = Date.now();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const hash = await this.hashManifest();
    if (!force && this.state.ready && hash !== undefined && hash === this.manifestHash) {
      this.log("reload_skipped", { reason, detail: "manifest unchanged" });
      // Back to the manifest that serves: nothing is failing any more.
      this.succeeded(reason, false);
      return false;
    }
    this.log("reload_started", { reason });
    let set: ServingSet;
    try {
      set = await this.load(this.config, this.metrics, this.log);
    } catch (error) {
      this.failed(reason, error as Error, started);
      return false;
    }
    if (this.closed) {
      await closeServingSet(set);
      return false;
    }
    this.state.swap(set);
    this.manifestHash = hash;
    this.metrics.reloads.inc();
    this.metrics.ready.set(1);
    this.metrics.setReferences(set.referencesEntry.version, set.embedder.name);
    this.metrics.reloadDuration.observe({ result: "success" }, (Date.now() - started) / 1000);
    this.succeeded(reason, true);
    this.log("reload_done", {
      reason,
      generation: set.generation,
      references: set.referencesEntry.version,
      models: [...set.models.keys()],
      ms: Date.now() - started,
    });
    return true;
  }

  private succeeded(reason: string, loaded: boolean): void {
    const now = new Date().toISOString();
    if (loaded) {
      this.metrics.reloadLastSuccess.set(Date.now() / 1000);
      this.last = { status: "ok", reason, lastAttemptAt: now, lastSuccessAt: now, failures: 0 };
    } else if (this.last.status === "failed") {
      this.last = {
        ...this.last,
        status: "ok",
        error: undefined,
        nextRetryAt: undefined,
        failures: 0,
      };
    }
    this.metrics.reloadLastFailed.set(0);
  }

  /** Counts and logs a failure and schedules the retry: reloadRetryMs, doubling, up to a minute. */
  private failed(reason: string, error: Error, started: number): void {
    this.metrics.reloadFailures.inc();
    this.metrics.reloadLastFailed.set(1);
    this.metrics.reloadDuration.observe({ result: "failure" }, (Date.now() - started) / 1000);
    const failures = this.last.status === "failed" ? this.last.failures + 1 : 1;
    const delay = Math.min(this.config.reloadRetryMs * 2 ** (failures - 1), MAX_RELOAD_RETRY_MS);
    this.last = {
      status: "failed",
      reason,
      lastAttemptAt: new Date().toISOString(),
      lastSuccessAt: this.last.lastSuccessAt,
      error: error.message,
      failures,
      nextRetryAt: this.closed ? undefined : new Date(Date.now() + delay).toISOString(),
    };
    this.log("reload_failed", {
      reason,
      error: error.message,
      serving: this.state.current?.referencesEntry.version ?? null,
      failures,
      retryInMs: this.closed ? null : delay,
    });
    if (this.closed) return;
    this.retryTimer = setTimeout(() => void this.reload("retry", true), delay);
    this.retryTimer.unref();
  }

  private async hashManifest(): Promise<string | undefined> {
    try {
      const bytes = await readFile(join(this.config.modelsDir, MANIFEST_FILE));
      return createHash("sha256").update(bytes).digest("hex");
    } catch {
      return undefined;
    }
  }

  /** Watches the models directory for manifest changes and `..data` swaps, and listens for SIGHUP. */
  watch(): void {
    try {
      this.watcher = watch(this.config.modelsDir, (_event, file) => {
        const name = file?.toString();
        if (name && !WATCHED_NAMES.has(name)) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(
          () =>
            void this.reload(name === SWAPPED_DATA_LINK ? "models swapped" : "manifest changed"),
          this.config.reloadDebounceMs,
        );
      });
      this.watcher.on("error", (error) => this.log("watch_failed", { error: error.message }));
    } catch (error) {
      this.log("watch_failed", { dir: this.config.modelsDir, error: (error as Error).message });
    }
    process.on("SIGHUP", this.onSighup);
    this.poll();
  }

  /**
   * Every --reload-poll-ms, hashes the manifest and reloads when it differs from the last one polled: a
   * network volume (NFS, most ReadWriteMany classes) changed from another node raises no inotify event here.
   */
  poll(): void {
    if (this.config.reloadPollMs <= 0 || this.poller) return;
    this.poller = setInterval(async () => {
      const hash = await this.hashManifest();
      if (this.closed || hash === undefined || hash === this.polledHash) return;
      const first = this.polledHash === undefined;
      this.polledHash = hash;
      if (!first || hash !== this.manifestHash) void this.reload("manifest changed (poll)");
    }, this.config.reloadPollMs);
    this.poller.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    clearInterval(this.poller);
    this.watcher?.close();
    process.off("SIGHUP", this.onSighup);
    await this.running;
  }
}
