/**
 * Running a list of trainings, each into its own run directory under one output folder, as bench
 * and demo do. A run whose summary.json exists is finished and skipped, so a killed grid resumes
 * where it stopped (the run it was in resumes from its last checkpoint).
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { BenchEntry } from '../report/bench-table.js';
import { benchEntries } from '../report/bench-table.js';
import { readSummary } from '../report/run-data.js';
import { writeReport } from '../report/write-report.js';
import type { RunConfig } from '../train/types.js';
import type { CliContext } from './context.js';
import type { Progress } from './progress.js';
import { checkResumable, trainOne } from './run-training.js';
import type { TrainerApi } from './trainer.js';
import type { ProcessGroup } from '../torch/distributed.js';

export interface GridRun {
  /** Row label in the tables (the method's name unless the grid says otherwise). */
  label: string;
  /** The data fold ('' without folds): a seed's predictions are pooled over its folds. */
  fold?: string;
  /** Sub-directory of the grid's folder. */
  dir: string;
  config: RunConfig;
}

export interface GridResult {
  entries: BenchEntry[];
  /** Per run: its directory and report, relative to the grid folder (for links). */
  runs: { label: string; seed: number; fold: string; outDir: string; report: string }[];
}

/** Refuses, before anything trains, to resume into a run directory of another format. */
export async function checkGrid(outDir: string, runs: GridRun[], resume: boolean): Promise<void> {
  for (const r of runs) await checkResumable(join(outDir, r.dir), resume);
}

/**
 * Trains the runs one after the other. With `group` (one rank of a data-parallel job, `mmgap bench
 * --nproc`) every rank goes through the same runs in the same order, training each as one rank
 * of it; rank 0 alone writes (the run directories, the reports).
 */
export async function runGrid(ctx: CliContext, trainer: TrainerApi, outDir: string, runs: GridRun[], o: { resume: boolean; progress: Progress; group?: ProcessGroup }): Promise<GridResult> {
  const result: GridResult = { entries: [], runs: [] };
  for (const [i, run] of runs.entries()) {
    const dir = join(outDir, run.dir);
    const tag = `[${i + 1}/${runs.length} ${run.label} seed ${run.config.seed}] `;
    let summary = await readSummary(dir);
    let report = join(dir, 'report.html');
    if (summary) {
      o.progress.log(`${tag}finished earlier, skipped (${dir})`);
      if (!existsSync(report) && (o.group?.rank ?? 0) === 0) report = await writeReport(dir);
    } else {
      ({ summary, report } = await trainOne(ctx, trainer, run.config, { outDir: dir, resume: o.resume, progress: o.progress, tag, span: [i / runs.length, (i + 1) / runs.length], group: o.group }));
    }
    // Only rank 0 reads the predictions back (it wrote them; the others make no tables).
    result.entries.push(...benchEntries(summary, run.label, (o.group?.rank ?? 0) === 0 ? dir : null, run.fold ?? ''));
    result.runs.push({ label: run.label, seed: run.config.seed, fold: run.fold ?? '', outDir: dir, report: relative(outDir, report) });
  }
  return result;
}
