// The distillation's loss curves as a PNG: one panel per level, the running mean Eq. 5 of the
// level's subsets at their first (dashed) and last (solid) iteration against subsets done.
import { COLORS, type Panel } from "../analysis/plot.js";
import { svgToPng } from "../data/image-encode.js";

/** One line of `<out>.metrics.jsonl`: a level's running means after a finished subset. */
export interface MetricsRow {
  level: number;
  done: number;
  total: number;
  meanFirstLoss: number;
  meanLastLoss: number;
  /** Seconds since the level started in the process that computed the row. */
  seconds: number;
  at: string;
}

function polyline(p: Panel, points: [number, number][], yMin: number, yMax: number, xMax: number) {
  const span = yMax - yMin || 1;
  return points
    .map(
      ([x, y]) =>
        `${(p.x + (x / xMax) * p.w).toFixed(1)},${(p.y + p.h - ((y - yMin) / span) * p.h).toFixed(1)}`,
    )
    .join(" ");
}

function frame(p: Panel, title: string, xMax: number, yMin: number, yMax: number): string {
  const parts = [
    `<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="none" stroke="#333"/>`,
    `<text x="${p.x + p.w / 2}" y="${p.y - 10}" font-size="14" text-anchor="middle">${title}</text>`,
    `<text x="${p.x + p.w / 2}" y="${p.y + p.h + 34}" font-size="12" text-anchor="middle">subsets done</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const tx = p.x + (k / 4) * p.w;
    const ty = p.y + p.h - (k / 4) * p.h;
    const y = yMin + (k / 4) * (yMax - yMin);
    parts.push(
      `<text x="${tx}" y="${p.y + p.h + 16}" font-size="11" text-anchor="middle">${Math.round((k / 4) * xMax)}</text>`,
      `<text x="${p.x - 6}" y="${ty + 4}" font-size="11" text-anchor="end">${y.toPrecision(3)}</text>`,
    );
  }
  return parts.join("\n");
}

export function curvesSvg(rows: readonly MetricsRow[]): string {
  const levels = [...new Set(rows.map((r) => r.level))].sort((a, b) => a - b);
  const panelW = 220;
  const width = 90 + levels.length * (panelW + 90);
  const height = 330;
  const panels = levels.map((level, k) => {
    const mine = rows.filter((r) => r.level === level);
    const p: Panel = { x: 80 + k * (panelW + 90), y: 40, w: panelW, h: 220 };
    const xMax = Math.max(...mine.map((r) => r.total), 1);
    const values = mine.flatMap((r) => [r.meanFirstLoss, r.meanLastLoss]);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const yMin = lo >= 0 ? 0 : lo * 1.05;
    const yMax = hi > 0 ? hi * 1.05 : 0;
    const color = COLORS[(level - 1) % COLORS.length];
    const first = polyline(
      p,
      mine.map((r) => [r.done, r.meanFirstLoss]),
      yMin,
      yMax,
      xMax,
    );
    const last = polyline(
      p,
      mine.map((r) => [r.done, r.meanLastLoss]),
      yMin,
      yMax,
      xMax,
    );
    return [
      frame(p, `level ${level}`, xMax, yMin, yMax),
      `<polyline points="${first}" fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="5,4"/>`,
      `<polyline points="${last}" fill="none" stroke="${color}" stroke-width="2"/>`,
      // The latest point of each curve as a dot, so a level of one subset still shows.
      ...[first, last].map((pts) => {
        const [cx, cy] = (pts.split(" ").at(-1) ?? "0,0").split(",");
        return `<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`;
      }),
    ].join("\n");
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panels.join("\n")}
<text x="${width / 2}" y="${height - 12}" font-size="12" text-anchor="middle">distillation loss per level: mean over subsets at the first iteration (dashed) and the last (solid)</text>
</svg>
`;
}

export function curvesPng(rows: readonly MetricsRow[]): Promise<Buffer> {
  return svgToPng(curvesSvg(rows));
}
