// Synthetic ImageFolder data sets for tests: coloured shapes (one class per shape) as PNG files.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { rng } from "../src/util/random.js";

export const COLOURS: Record<string, [number, number, number]> = {
  circle: [230, 40, 40],
  square: [40, 200, 60],
  triangle: [50, 70, 230],
};

/** A shape of its class's colour at a random place and size on a dark random background. */
export async function shapePng(
  kind: string,
  seed: number,
  side = 32,
  grey = false,
): Promise<Buffer> {
  const random = rng(seed);
  const raw = Buffer.alloc(side * side * 3);
  const bg = Math.floor(random() * 60);
  const cx = side * (0.35 + 0.3 * random());
  const cy = side * (0.35 + 0.3 * random());
  const r = side * (0.18 + 0.12 * random());
  const colour = COLOURS[kind];
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const inside =
        kind === "circle"
          ? dx * dx + dy * dy < r * r
          : kind === "square"
            ? Math.abs(dx) < r && Math.abs(dy) < r
            : dy > -r && dy < r && Math.abs(dx) < (dy + r) / 2;
      for (let c = 0; c < 3; c++) {
        const v = inside ? colour[grey ? 0 : c] : bg;
        raw[(y * side + x) * 3 + c] = v;
      }
    }
  }
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
}

export async function writeFolder(
  dir: string,
  perClass: number,
  options: { grey?: boolean; sides?: number[] } = {},
): Promise<void> {
  for (const [k, kind] of Object.keys(COLOURS).entries()) {
    await mkdir(join(dir, kind), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const side = options.sides?.[i % options.sides.length] ?? 32;
      const png = await shapePng(kind, k * 1000 + i, side, options.grey);
      await writeFile(join(dir, kind, `${String(i).padStart(3, "0")}.png`), png);
    }
  }
}
