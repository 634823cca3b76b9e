/**
 * Runs `mmgap` commands for the benchmarks, `jobs` at a time (each training with one libtorch
 * thread: small CNNs use two cores better as two runs than as one). `runJobs` trains each job into
 * its own run directory; finished runs (summary.json) are skipped, so a killed benchmark resumes;
 * features go to one shared cache.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../src/train/config.js';

export interface TrainJob { name: string; dir: string; config: ConfigInput }

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Runs `mmgap ARGS` in a child process; rejects with `name`, the exit code and the end of its stderr. */
export function runCli(args: string[], name: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    p.on('exit', (code) => (code === 0 ? done() : fail(new Error(`${name} failed (exit ${code}): ${err}`))));
  });
}

/** Calls `run` on every item, at most `jobs` at a time. */
export async function inPool<T>(items: T[], jobs: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, async () => {
    while (next < items.length) await run(items[next++] as T);
  }));
}

/** Trains the unfinished jobs; logs progress on stderr. */
export async function runJobs(all: TrainJob[], o: { jobs: number; cacheDir: string; log: (s: string) => void }): Promise<void> {
  const pending = all.filter((j) => !existsSync(join(j.dir, 'summary.json')));
  o.log(`${all.length} runs (${all.length - pending.length} finished earlier), ${o.jobs} at a time`);
  const env = { ...process.env, MMGAP_CACHE: process.env.MMGAP_CACHE ?? o.cacheDir };
  let finished = 0;
  await inPool(pending, o.jobs, async (job) => {
    mkdirSync(job.dir, { recursive: true });
    const cfgFile = join(job.dir, 'bench-config.json');
    writeFileSync(cfgFile, JSON.stringify(job.config, null, 2));
    const t0 = performance.now();
    await runCli(['train', '--config', cfgFile, '--out', job.dir, '--json'], job.name, env);
    finished++;
    o.log(`  [${finished}/${pending.length}] ${job.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  });
}
