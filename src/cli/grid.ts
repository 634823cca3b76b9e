/**
 * Running a list of trainings (a grid: `mmgap bench`, `mmgap demo`, the bench/ scripts), each
 * into its own run directory and each in a child process of its own (`mmgap train`): a run's
 * memory goes back to the system before the next starts, and a run that crashes (an error, or a
 * signal such as SIGKILL from the out-of-memory killer) is reported as failed while the grid goes
 * on. A run whose summary.json exists is finished and skipped, so a stopped grid resumes where it
 * stopped (the run it was in resumes from its last checkpoint).
 *
 * A run's stderr is kept in <run dir>/train.log; its progress bar is relayed to the grid's.
 */
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FailedRun } from '../report/bench-table.js';
import { readSummary } from '../report/run-data.js';
import { writeReport } from '../report/write-report.js';
import type { ConfigInput } from '../train/config.js';
import type { RunSummary } from '../train/types.js';
import { EXIT, InterruptedError, UsageError } from './errors.js';
import type { CliChild, CliIo } from './io.js';
import { readRelayed, type Progress } from './progress.js';
import { checkResumable } from './run-training.js';

export interface GridRun {
  /** Row label in the tables (the method's name unless the grid says otherwise). */
  label: string;
  /** The data fold ('' without folds): a seed's predictions are pooled over its folds. */
  fold?: string;
  /** The run directory (absolute). */
  dir: string;
  /** The run's settings (a RunConfig, or the fields a config file would hold). */
  config: ConfigInput;
  /** How progress lines name the run (default "<label> seed <seed>"). */
  name?: string;
}

/** Why a run failed, and where its log is. */
export interface RunFailure {
  reason: string;
  /** <run dir>/train.log: the run's stderr. */
  log: string;
}

export interface GridOutcome {
  run: GridRun;
  /** The finished run's summary (null when it failed, or on a rank other than 0 of a data-parallel grid). */
  summary: RunSummary | null;
  failure: RunFailure | null;
}

export interface GridOptions {
  /** False: runs that have a checkpoint start over (finished runs are still skipped). */
  resume: boolean;
  progress: Progress;
  /** Runs at a time (default 1). */
  jobs?: number;
  /** The runs' environment (default this process's). */
  env?: Record<string, string | undefined>;
  /** More flags of every run's `mmgap train` (e.g. --nproc 2). */
  trainFlags?: string[];
  /** Print each run's own log lines (its epochs) above the bar; else one line per run. */
  echo?: boolean;
  /** Added to the message when Ctrl-C stops the grid: how to resume it. */
  resumeHint: string;
  /** True on ranks other than 0 of a data-parallel grid: their runs write no summary. */
  quietRank?: boolean;
}

/** Calls `run` on every item, at most `jobs` at a time, in order; none starts once `stop()` holds. */
export async function inPool<T>(items: T[], jobs: number, run: (item: T) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, async () => {
    while (!stop() && next < items.length) await run(items[next++] as T);
  }));
}

/** Refuses, before anything trains, to resume into a run directory of another format. */
export async function checkGrid(runs: GridRun[], resume: boolean): Promise<void> {
  for (const r of runs) await checkResumable(r.dir, resume);
}

/** What is left of a run's stderr for its failure message: the CLI's own error lines, else the last line. */
function errorLines(tail: string[]): string[] {
  const errors = tail.filter((l) => /^(rank \d+: )?mmgap: /.test(l));
  return errors.length > 0 ? errors : tail.slice(-1);
}

/** Runs every unfinished run, `jobs` at a time, each as `mmgap train` in a child process. */
export async function runGrid(io: CliIo, runs: GridRun[], o: GridOptions): Promise<GridOutcome[]> {
  const outcomes: GridOutcome[] = runs.map((run) => ({ run, summary: null, failure: null }));
  const live = new Set<CliChild>();
  let stopped = false;
  let refused: string[] | null = null;
  const off = io.onInterrupt(() => {
    if (!stopped) o.progress.log('stopping: each run saves its last finished epoch (Ctrl-C again to quit at once)');
    stopped = true;
    for (const c of live) c.interrupt();
  });

  const one = async (i: number): Promise<void> => {
    const run = runs[i] as GridRun;
    const seed = run.config.seed ?? 0;
    const tag = `[${i + 1}/${runs.length} ${run.name ?? `${run.label} seed ${seed}`}] `;
    const summary = await readSummary(run.dir);
    if (summary) {
      o.progress.log(`${tag}finished earlier, skipped (${run.dir})`);
      if (!existsSync(join(run.dir, 'report.html')) && !o.quietRank) await writeReport(run.dir);
      (outcomes[i] as GridOutcome).summary = summary;
      return;
    }
    mkdirSync(run.dir, { recursive: true });
    const configFile = join(run.dir, 'grid-config.json');
    writeFileSync(configFile, `${JSON.stringify(run.config, null, 2)}\n`);
    const logFile = join(run.dir, 'train.log');
    // Appended to: a run resumed after a crash keeps the crashed attempt's lines above its own.
    const log = createWriteStream(logFile, { flags: 'a' });
    const started = performance.now();
    const argv = ['train', '--config', configFile, '--out', run.dir, '--progress-relay', ...(o.resume ? [] : ['--no-resume']), ...(o.trainFlags ?? [])];
    log.write(`# ${new Date().toISOString()} mmgap ${argv.join(' ')}\n`);
    const child = io.spawnSelf(argv, o.env ?? io.env);
    live.add(child);
    const tail: string[] = [];
    let partial = '';
    child.onStderr((text) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() as string;
      for (const line of lines) {
        const bar = readRelayed(line);
        if (bar) {
          if (runs.length === 1 || (o.jobs ?? 1) === 1) o.progress.update((i + bar.fraction) / runs.length, `${tag}${bar.label}`);
          continue;
        }
        log.write(`${line}\n`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (o.echo) o.progress.log(`${tag}${line}`);
      }
    });
    const { code, signal } = await child.exited;
    live.delete(child);
    if (partial) {
      log.write(`${partial}\n`);
      tail.push(partial);
    }
    await new Promise((resolve) => log.end(resolve));
    const seconds = (performance.now() - started) / 1000;
    if (code === EXIT.ok) {
      const s = await readSummary(run.dir);
      if (s || o.quietRank) {
        (outcomes[i] as GridOutcome).summary = s;
        if (!o.echo) o.progress.log(`${tag}finished in ${seconds.toFixed(0)} s`);
        return;
      }
    }
    if (code === EXIT.interrupted || stopped) {
      stopped = true;
      return;
    }
    if (code === EXIT.usage) {
      // Bad settings fail every run alike: the grid stops with the run's own message.
      stopped = true;
      refused ??= errorLines(tail);
      return;
    }
    const why = signal
      ? `killed by ${signal}${signal === 'SIGKILL' ? ' (as the out-of-memory killer does when memory runs out)' : ''}`
      : code === EXIT.ok ? 'exited without writing summary.json' : `exited with code ${code}: ${errorLines(tail).join(' ')}`;
    (outcomes[i] as GridOutcome).failure = { reason: why, log: logFile };
    o.progress.log(`${tag}FAILED after ${seconds.toFixed(0)} s: ${why}; its log: ${logFile}`);
  };

  try {
    await inPool(runs.map((_, i) => i), o.jobs ?? 1, one, () => stopped);
  } finally {
    off();
    o.progress.clear();
  }
  if (refused) {
    io.stderr((refused as string[]).map((l) => `${l}\n`).join(''));
    throw new UsageError('the grid stopped at the run refused above; fix the settings and run the same command again (finished runs are kept)');
  }
  if (stopped) throw new InterruptedError(`finished runs are kept, and each stopped run's last finished epoch; ${o.resumeHint}`);
  return outcomes;
}

/** The failed runs of a grid, as the tables and the JSON line list them. */
export function gridFailures(outcomes: GridOutcome[]): FailedRun[] {
  return outcomes.flatMap((x) => (x.failure ? [{ label: x.run.label, seed: x.run.config.seed ?? 0, fold: x.run.fold ?? '', reason: x.failure.reason, log: x.failure.log }] : []));
}
