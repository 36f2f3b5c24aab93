// The files a reference set's producer writes beside it (STEM.safetensors): a sheet per level, the
// Fig. 9 summary against the real images, the intra-class similarity (JSON and Markdown) and a
// report; scripts/publish-references.ts copies them into the models folder with the set.
import { basename, dirname, join } from "node:path";
import type { ReferenceSet } from "../references/reference-set.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/atomic-write.js";
import { levelSheet, summarySheet } from "./sheets.js";
import {
  type LevelImages,
  levelSimilarity,
  type SimilarityRow,
  similarityMarkdown,
} from "./similarity.js";

/** The file beside the set `out` (STEM.safetensors) named STEM.`suffix`. */
export function besideSet(out: string, suffix: string): string {
  return join(dirname(out), `${basename(out).replace(/\.safetensors$/, "")}.${suffix}`);
}

/** Writes the sheets, similarity and `report` (plus version and similarity) beside `out`; returns the similarity rows. */
export async function writeSetFiles(
  out: string,
  set: ReferenceSet,
  real: Omit<LevelImages, "level">,
  report: Record<string, unknown>,
): Promise<SimilarityRow[]> {
  const shape = { height: set.height, width: set.width, channels: set.channels };
  const classes = set.classes.length;
  for (const level of set.levels) {
    await writeFileAtomic(
      besideSet(out, `level${level.level}.png`),
      await levelSheet(level, classes, shape),
    );
  }
  const original = { level: 0, ...real };
  await writeFileAtomic(
    besideSet(out, "fig9.png"),
    await summarySheet(original, set.levels, classes, shape),
  );
  const rows = [original, ...set.levels].map((l) => levelSimilarity(l, classes));
  await writeJsonAtomic(besideSet(out, "similarity.json"), rows);
  await writeFileAtomic(besideSet(out, "similarity.md"), `${similarityMarkdown(rows)}\n`);
  await writeJsonAtomic(besideSet(out, "report.json"), {
    version: set.version,
    ...report,
    similarity: rows,
  });
  return rows;
}
