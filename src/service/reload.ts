// Hot reload: on a manifest change (fs.watch + debounce, or a poll for network volumes), a Kubernetes-style
// `..data` symlink swap of the models directory, or SIGHUP, build and verify a new serving set, then swap it in.
import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config.js";
import { MANIFEST_FILE } from "../models/manifest.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { loadServingSet, type ServingSet } from "./serving-set.js";
import type { ServingState } from "./state.js";

/**
 * The entry a kubelet (ConfigMap, Secret, projected volumes) or git-sync swaps atomically: it writes a new
 * timestamped folder, points `..data_tmp` at it and renames that over `..data`, so `manifest.json` (a link
 * through `..data`) changes without any event naming it.
 */
export const SWAPPED_DATA_LINK = "..data";

/** The names in the models directory whose change may mean a new manifest. */
const WATCHED_NAMES = new Set([MANIFEST_FILE, SWAPPED_DATA_LINK]);

export type LoadFn = (config: Config, metrics: Metrics) => Promise<ServingSet>;

export class Reloader {
  private running?: Promise<boolean>;
  private again = false;
  private manifestHash?: string;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
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

  private async doReload(reason: string, force: boolean): Promise<boolean> {
    const started = Date.now();
    const hash = await this.hashManifest();
    if (!force && this.state.ready && hash !== undefined && hash === this.manifestHash) {
      this.log("reload_skipped", { reason, detail: "manifest unchanged" });
      return false;
    }
    this.log("reload_started", { reason });
    let set: ServingSet;
    try {
      set = await this.load(this.config, this.metrics);
    } catch (error) {
      this.metrics.reloadFailures.inc();
      this.log("reload_failed", {
        reason,
        error: (error as Error).message,
        serving: this.state.current?.referencesEntry.version ?? null,
      });
      return false;
    }
    this.state.swap(set);
    this.manifestHash = hash;
    this.metrics.reloads.inc();
    this.metrics.ready.set(1);
    this.metrics.setReferences(set.referencesEntry.version, set.embedder.name);
    this.log("reload_done", {
      reason,
      generation: set.generation,
      references: set.referencesEntry.version,
      models: [...set.models.keys()],
      ms: Date.now() - started,
    });
    return true;
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
      if (hash === undefined || hash === this.polledHash) return;
      const first = this.polledHash === undefined;
      this.polledHash = hash;
      if (!first || hash !== this.manifestHash) void this.reload("manifest changed (poll)");
    }, this.config.reloadPollMs);
    this.poller.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.poller);
    this.watcher?.close();
    process.off("SIGHUP", this.onSighup);
    await this.running;
  }
}
