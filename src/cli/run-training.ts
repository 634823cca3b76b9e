/** One training run as train, bench and demo do it: checks, progress, Ctrl-C, then the report. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkRunDir } from '../report/run-data.js';
import { writeReport } from '../report/write-report.js';
import type { RunConfig, RunSummary } from '../train/types.js';
import type { CliContext } from './context.js';
import { interruptible, resumeCommand } from './interrupt.js';
import type { Progress } from './progress.js';
import { renderTrainEvents, type RenderOptions } from './train-events.js';
import type { TrainerApi } from './trainer.js';
import type { ProcessGroup } from '../torch/distributed.js';

export interface TrainOneOptions extends RenderOptions {
  outDir: string;
  resume: boolean;
  progress: Progress;
  /** This process's group when it is one rank of a data-parallel job: rank 0 alone writes the report. */
  group?: ProcessGroup;
}

/** Refuses to resume into a directory written by another run format (exit 2 via RunDirError). */
export async function checkResumable(outDir: string, resume: boolean): Promise<void> {
  if (resume && existsSync(join(outDir, 'config.json'))) await checkRunDir(outDir);
}

export async function trainOne(ctx: CliContext, trainer: TrainerApi, config: RunConfig, o: TrainOneOptions): Promise<{ summary: RunSummary; report: string }> {
  const hint = `the last finished epoch is saved in ${o.outDir}; resume with: ${resumeCommand(ctx.argv)}`;
  const summary = await interruptible(ctx.io, o.progress, hint, (signal) =>
    trainer.trainRun(config, { outDir: o.outDir, resume: o.resume, signal, onEvent: renderTrainEvents(o.progress, o), group: o.group }),
  );
  return { summary, report: (o.group?.rank ?? 0) === 0 ? await writeReport(o.outDir) : join(o.outDir, 'report.html') };
}

/** The default run directory: runs/<dataset>-<method>-seed<seed>. */
export function defaultOutDir(config: RunConfig): string {
  const data = config.data.split(':')[0];
  return join('runs', `${data}-${config.method}-seed${config.seed}`);
}
