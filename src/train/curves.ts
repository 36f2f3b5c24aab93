// A run's learning curves as it goes: every finished epoch's metrics as JSON lines
// (epochs.jsonl) and a PNG of loss and accuracy (train and test) per epoch (curves.png),
// both rewritten whole and atomically after each epoch, so a run can be watched and compared.
import { join } from "node:path";
import { svgToPng } from "../data/image-encode.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { EpochMetrics } from "./train-config.js";

export const EPOCHS_FILE = "epochs.jsonl";
export const CURVES_FILE = "curves.png";

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

const W = 360;
const H = 220;
const M = { left: 56, top: 30, right: 16, bottom: 44 };

function panel(x0: number, title: string, series: Series[], lastEpoch: number): string {
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const span = hi - lo || Math.abs(hi) || 1;
  // Pad by 5%, never below zero for quantities that cannot be negative.
  const [yMin, yMax] = [
    lo >= 0 ? Math.max(0, lo - 0.05 * span) : lo - 0.05 * span,
    hi + 0.05 * span,
  ];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const px = (e: number) =>
    x0 + M.left + (lastEpoch > 1 ? ((e - 1) / (lastEpoch - 1)) * pw : pw / 2);
  const py = (y: number) => M.top + ph - ((y - yMin) / (yMax - yMin)) * ph;
  const parts = [
    `<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${x0 + M.left + pw / 2}" y="${M.top - 10}" font-size="14" text-anchor="middle">${title}</text>`,
    `<text x="${x0 + M.left + pw / 2}" y="${H - 8}" font-size="12" text-anchor="middle">epoch</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const y = yMin + (k / 4) * (yMax - yMin);
    parts.push(
      `<text x="${x0 + M.left - 6}" y="${py(y) + 4}" font-size="10" text-anchor="end">${y.toPrecision(3)}</text>`,
    );
  }
  const ticks = Math.min(lastEpoch, 10);
  for (let k = 0; k < ticks; k++) {
    const e = ticks > 1 ? Math.round(1 + (k / (ticks - 1)) * (lastEpoch - 1)) : 1;
    parts.push(
      `<text x="${px(e)}" y="${M.top + ph + 16}" font-size="10" text-anchor="middle">${e}</text>`,
    );
  }
  series.forEach((s, i) => {
    const path = s.points.map(([e, y]) => `${px(e).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [e, y] of s.points) {
      parts.push(
        `<circle cx="${px(e).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`,
      );
    }
    // The legend sits under the axis, left of the "epoch" label, clear of the lines.
    parts.push(
      `<text x="${x0 + M.left + 44 * i}" y="${H - 8}" font-size="11" fill="${s.color}">— ${s.label}</text>`,
    );
  });
  return parts.join("\n");
}

/** Two panels: loss and accuracy per epoch, train and (when measured) test. */
export function curvesSvg(history: EpochMetrics[], title: string): string {
  const last = history.at(-1)?.epoch ?? 1;
  const tested = history.filter((m) => m.test);
  const series = (label: string, color: string, pick: (m: EpochMetrics) => number | undefined) => ({
    label,
    color,
    points: history
      .map((m) => [m.epoch, pick(m)] as [number, number | undefined])
      .filter((p): p is [number, number] => p[1] !== undefined && Number.isFinite(p[1])),
  });
  const loss = [series("train", "#4575b4", (m) => m.loss)];
  const accuracy = [series("train", "#4575b4", (m) => 100 * m.accuracy)];
  if (tested.length > 0) {
    loss.push(series("test", "#d73027", (m) => m.test?.loss));
    accuracy.push(series("test", "#d73027", (m) => (m.test ? 100 * m.test.accuracy : undefined)));
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 24}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W}" y="16" font-size="13" text-anchor="middle">${escapeXml(title)}</text>`,
    `<g transform="translate(0 20)">`,
    panel(0, "loss", loss, last),
    panel(W, "accuracy (%)", accuracy, last),
    "</g>",
    "</svg>",
  ].join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Rewrites epochs.jsonl and curves.png in `dir` from the run's history so far. */
export async function writeCurves(dir: string, history: EpochMetrics[], title: string) {
  const lines = history.map((m) => JSON.stringify(m)).join("\n");
  await writeFileAtomic(join(dir, EPOCHS_FILE), `${lines}\n`);
  await writeFileAtomic(join(dir, CURVES_FILE), await svgToPng(curvesSvg(history, title)));
}
