/**
 * The benchmarks' runs through the CLI's grid runner (src/cli/grid.ts), `jobs` at a time (each
 * training with one libtorch thread: small CNNs use two cores better as two runs than as one):
 * each run is `mmgap train` in a child process of its own, into its own run directory; finished
 * runs (summary.json) are skipped, so a stopped benchmark resumes; features go to one shared cache.
 */
import { EXIT } from '../src/cli/errors.js';
import { gridFailures, inPool, runGrid } from '../src/cli/grid.js';
import { nodeIo } from '../src/cli/io.js';
import { Progress } from '../src/cli/progress.js';
import type { ConfigInput } from '../src/train/config.js';

export { inPool };

export interface TrainJob { name: string; dir: string; config: ConfigInput }

/**
 * Trains the unfinished jobs; logs a line per run on stderr. A run that fails does not stop the
 * others; once they are done, the failures are thrown (the tables need every run).
 */
export async function runJobs(all: TrainJob[], o: { jobs: number; cacheDir: string; log: (s: string) => void }): Promise<void> {
  o.log(`${all.length} runs, ${o.jobs} at a time`);
  const io = nodeIo();
  const env = { ...process.env, MMGAP_CACHE: process.env.MMGAP_CACHE ?? o.cacheDir };
  const outcomes = await runGrid(io, all.map((j) => ({ label: j.name, name: j.name, dir: j.dir, config: j.config })), {
    resume: true, jobs: o.jobs, env, progress: new Progress(io, false), resumeHint: 'run the same command to resume',
  });
  const failed = gridFailures(outcomes);
  if (failed.length > 0) throw new Error(`${failed.length} run(s) failed (the others finished; run the same command to retry them):\n${failed.map((f) => `  ${f.label}: ${f.reason} (log: ${f.log})`).join('\n')}`);
}

/** Runs `mmgap ARGS` in a child process; rejects with `name`, the exit code and the end of its stderr. */
export async function runCli(args: string[], name: string): Promise<void> {
  const child = nodeIo().spawnSelf(args, process.env);
  let err = '';
  child.onStderr((d) => { err = (err + d).slice(-2000); });
  const { code, signal } = await child.exited;
  if (code !== EXIT.ok) throw new Error(`${name} failed (${signal ? `killed by ${signal}` : `exit ${code}`}): ${err}`);
}
