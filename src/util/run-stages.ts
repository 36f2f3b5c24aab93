// A command made of stages, each skipped when its output exists, under one progress display
// for the whole run (util/run-progress.ts) that ends with every stage's time.
import { existsSync } from "node:fs";
import { RunProgress } from "./run-progress.js";
import { type RunProgressMode, RunProgressView } from "./run-progress-view.js";

export interface Stage {
  name: string;
  /** Its output: when it exists the stage counts as done (resumed) and does not run. */
  output?: string;
  /** Its expected cost, in a unit shared by all the stages. */
  weight: number;
  /** Runs it; `view` takes its events and its other output. */
  run(view: RunProgressView): Promise<void>;
}

/** Runs the stages in order; a failure clears the display and propagates unchanged. */
export async function runStages(
  stages: Stage[],
  mode: RunProgressMode,
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<void> {
  const progress = new RunProgress(stages.map(({ name, weight }) => ({ name, weight })));
  const view = new RunProgressView(progress, mode, stream, { label });
  const resumed = stages.map((s) => s.output !== undefined && existsSync(s.output));
  for (const [i, done] of resumed.entries()) if (done) progress.resumed(i);
  try {
    for (const [i, stage] of stages.entries()) {
      const step = `[${i + 1}/${stages.length}] ${stage.name}`;
      if (resumed[i]) {
        view.note(`${step}: done (${stage.output})`);
        continue;
      }
      progress.start(i);
      view.note(`${step}…`);
      await stage.run(view);
      view.note(`${step}: ${progress.finish(i).toFixed(1)} s`);
    }
  } catch (error) {
    view.stop();
    throw error;
  }
  view.close();
}
