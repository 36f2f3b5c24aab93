// The References view: the served reference set per level as contact sheets (rows = classes), with
// version, data set and metrics from the manifest; re-rendered whenever /references changes.
import type { ReferencesInfo } from "./api.js";
import { clear, fixed, h } from "./dom.js";

const PER_CLASS = 20;

interface LevelMetric {
  level: number;
  references?: number;
  accuracy?: number;
}

/** Per-level accuracy when the manifest's metrics hold an evaluation (scripts/evaluate.ts). */
function levelMetrics(metrics: Record<string, unknown>): Map<number, LevelMetric> {
  const evaluation = metrics.evaluation as { levels?: LevelMetric[] } | undefined;
  const levels = Array.isArray(evaluation?.levels) ? evaluation.levels : [];
  return new Map(levels.filter((l) => typeof l?.level === "number").map((l) => [l.level, l]));
}

function describeData(data: unknown): string {
  if (typeof data === "string") return data;
  if (data && typeof data === "object") {
    const d = data as Record<string, unknown>;
    const name = d.name ?? d.data ?? "";
    return d.count
      ? `${name} (${Number(d.count).toLocaleString("en")} training images)`
      : String(name);
  }
  return "not recorded";
}

function facts(info: ReferencesInfo): HTMLElement {
  const rows: [string, string][] = [
    ["Version", info.version],
    ["Data set", describeData(info.data)],
    ["Embedder", `${info.embedder.name} ${info.embedder.version ?? ""}`],
    ["Image shape", info.shape.join(" × ")],
    ["Classes", info.classes.join(", ")],
    ["Default level", info.defaultLevel === null ? "—" : `L${info.defaultLevel}`],
    ["Created", info.createdAt ?? "—"],
    ["Loaded by the service", new Date(info.loadedAt).toLocaleString("en")],
  ];
  return h(
    "dl",
    { class: "facts" },
    ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    info.command ? h("dt", {}, "Command") : null,
    info.command ? h("dd", {}, h("code", {}, info.command)) : null,
  );
}

function levelSection(
  info: ReferencesInfo,
  level: ReferencesInfo["levels"][number],
  metric?: LevelMetric,
) {
  const shown = Math.min(PER_CLASS, Math.max(...Object.values(level.perClass)));
  const accuracy =
    metric?.accuracy === undefined
      ? ""
      : ` · ${fixed(metric.accuracy * 100, 2)}% test accuracy by angle`;
  return h(
    "section",
    {
      class: "card level-sheet",
      "data-level": level.level,
      "aria-labelledby": `level-${level.level}`,
    },
    h(
      "h3",
      { id: `level-${level.level}` },
      `Level L${level.level}`,
      h(
        "span",
        { class: "detail" },
        ` · ${level.count.toLocaleString("en")} references${accuracy}`,
      ),
    ),
    h("p", { class: "hint" }, `Rows are classes; up to ${shown} images per class shown.`),
    h(
      "div",
      { class: "sheet" },
      h(
        "ol",
        { class: "row-labels", "aria-hidden": "true" },
        ...info.classes.map((c) => h("li", {}, c)),
      ),
      h("img", {
        src: `${level.sheet}?perClass=${PER_CLASS}&scale=2`,
        alt: `Level ${level.level} references of version ${info.version}: one row per class (${info.classes.join(", ")}), up to ${shown} images each`,
        class: "pixelated",
        loading: "lazy",
      }),
    ),
  );
}

export function renderReferences(container: HTMLElement, info: ReferencesInfo): void {
  const metrics = levelMetrics(info.metrics);
  clear(
    container,
    h(
      "div",
      { class: "card" },
      h("h2", {}, "The served reference set"),
      h(
        "p",
        { class: "hint" },
        "Live from the service: a hot reload of the references updates this view by itself.",
      ),
      facts(info),
    ),
    h(
      "div",
      { class: "sheets" },
      ...info.levels.map((l) => levelSection(info, l, metrics.get(l.level))),
    ),
  );
}
