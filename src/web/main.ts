// The web page's entry: tabs (keyboard: arrows, Home, End), the service status, and the References
// view kept in step with hot reloads by polling /references with its ETag.
import { ApiError, type ReferencesInfo } from "./api.js";
import { setupClassify } from "./classify-view.js";
import { byId } from "./dom.js";
import { renderReferences } from "./references-view.js";
import { loadTaylorNet } from "./taylornet-view.js";

const POLL_MS = 5000;
let references: ReferencesInfo | null = null;
let taylornetLoaded = false;

function setStatus(text: string, kind: "ok" | "wait" | "bad"): void {
  const status = byId("status");
  status.textContent = text;
  status.dataset.kind = kind;
}

function tabs(): HTMLButtonElement[] {
  return [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
}

function select(tab: HTMLButtonElement, focus = false): void {
  for (const t of tabs()) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    byId(t.getAttribute("aria-controls") ?? "").hidden = !on;
  }
  if (focus) tab.focus();
  if (tab.id === "tab-taylornet" && !taylornetLoaded) {
    taylornetLoaded = true;
    loadTaylorNet().catch(() => {
      taylornetLoaded = false;
    });
  }
}

function setupTabs(): void {
  const all = tabs();
  for (const [i, tab] of all.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: all.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      select(all[(next + all.length) % all.length], true);
    });
  }
}

async function poll(): Promise<void> {
  try {
    const headers: Record<string, string> = references ? { "If-None-Match": references.etag } : {};
    const res = await fetch("/references", { headers, cache: "no-store" });
    if (res.status === 304) return;
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new ApiError(
        res.status,
        body?.error?.code ?? "",
        body?.error?.message ?? res.statusText,
      );
    }
    const info = (await res.json()) as ReferencesInfo;
    const changed = references !== null && references.etag !== info.etag;
    references = info;
    renderReferences(byId("references"), info);
    setStatus(
      `${changed ? "Reloaded: " : "Ready · "}references ${info.version} · ${info.embedder.name}`,
      "ok",
    );
  } catch (error) {
    const text = error instanceof ApiError ? error.message : "the service cannot be reached";
    setStatus(`Not ready: ${text}`, error instanceof ApiError ? "wait" : "bad");
  }
}

function main(): void {
  setupTabs();
  setupClassify({
    classes: () => references?.classes ?? [],
    explained: () => byId("tab-why").classList.add("fresh"),
  });
  void poll();
  setInterval(() => void poll(), POLL_MS);
}

main();
