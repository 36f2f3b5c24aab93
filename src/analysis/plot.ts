// Fig. 3 as a picture: an SVG built by hand, also rasterised to PNG (data/image-encode.ts).
import { svgToPng } from "../data/image-encode.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { type DistanceRow, LEVELS, type QuadraticWeight } from "./quadratic.js";

export const COLORS = ["#4575b4", "#91bfdb", "#fee090", "#fc8d59", "#d73027"];

export interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
}

function axes(
  p: Panel,
  title: string,
  xLabel: string,
  yLabel: string,
  xMax: number,
  yMax: number,
): string {
  const ticks: string[] = [];
  for (let k = 0; k <= 5; k++) {
    const tx = p.x + (k / 5) * p.w;
    const ty = p.y + p.h - (k / 5) * p.h;
    ticks.push(
      `<text x="${tx}" y="${p.y + p.h + 16}" font-size="11" text-anchor="middle">${((k / 5) * xMax).toFixed(1)}</text>`,
    );
    ticks.push(
      `<text x="${p.x - 6}" y="${ty + 4}" font-size="11" text-anchor="end">${((k / 5) * yMax).toPrecision(2)}</text>`,
    );
  }
  return [
    `<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="none" stroke="#333"/>`,
    `<text x="${p.x + p.w / 2}" y="${p.y - 10}" font-size="14" text-anchor="middle">${title}</text>`,
    `<text x="${p.x + p.w / 2}" y="${p.y + p.h + 34}" font-size="12" text-anchor="middle">${xLabel}</text>`,
    `<text x="${p.x - 44}" y="${p.y + p.h / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${p.x - 44} ${p.y + p.h / 2})">${yLabel}</text>`,
    ...ticks,
  ].join("\n");
}

function legend(x: number, y: number): string {
  return Array.from({ length: LEVELS }, (_, l) => {
    const ly = y + l * 16;
    return `<rect x="${x}" y="${ly - 9}" width="10" height="10" fill="${COLORS[l]}"/><text x="${x + 14}" y="${ly}" font-size="11">L${l + 1}</text>`;
  }).join("\n");
}

/** (a) every pair's weight against its distance, coloured by level; (b) each level's share per distance. */
export function fig3Svg(weights: QuadraticWeight[], rows: DistanceRow[], caption: string): string {
  const width = 1000;
  const height = 460;
  const a: Panel = { x: 70, y: 40, w: 380, h: 330 };
  const b: Panel = { x: 570, y: 40, w: 340, h: 330 };
  const xMax = Math.ceil(Math.max(...rows.map((r) => r.distance)));
  const yMax = Math.max(...weights.map((w) => w.weight)) * 1.05 || 1;
  const dots = weights
    .map((w) => {
      const cx = a.x + (w.distance / xMax) * a.w;
      const cy = a.y + a.h - (w.weight / yMax) * a.h;
      return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="2" fill="${COLORS[w.level - 1]}" fill-opacity="0.6"/>`;
    })
    .join("\n");
  const perLevel = Array.from({ length: LEVELS }, (_, l) =>
    rows.reduce((s, r) => s + r.levels[l], 0),
  );
  const ratios = rows.map((r) => r.levels.map((c, l) => c / Math.max(1, perLevel[l])));
  const rMax = Math.max(...ratios.flat()) * 1.05 || 1;
  const lines = Array.from({ length: LEVELS }, (_, l) => {
    const pts = rows
      .map(
        (r, k) =>
          `${(b.x + (r.distance / xMax) * b.w).toFixed(1)},${(b.y + b.h - (ratios[k][l] / rMax) * b.h).toFixed(1)}`,
      )
      .join(" ");
    return `<polyline points="${pts}" fill="none" stroke="${COLORS[l]}" stroke-width="2"/>`;
  }).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${axes(a, "(a) quadratic weights vs distance", "pixel distance d_ij", "‖w_ij‖ over classes", xMax, yMax)}
${dots}
${axes(b, "(b) share of each level's weights per distance", "pixel distance d_ij", "fraction of level", xMax, rMax)}
${lines}
${legend(b.x + b.w + 12, b.y + 14)}
<text x="${width / 2}" y="${height - 12}" font-size="12" text-anchor="middle">${caption}</text>
</svg>
`;
}

export async function writeSvgAndPng(svg: string, svgPath: string, pngPath: string): Promise<void> {
  await writeFileAtomic(svgPath, svg);
  await writeFileAtomic(pngPath, await svgToPng(svg));
}
