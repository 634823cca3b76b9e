/**
 * Runs `mmgap train` jobs, each into its own run directory, `jobs` at a time (each with one
 * libtorch thread: small CNNs use two cores better as two runs than as one). Finished runs
 * (summary.json) are skipped, so a killed benchmark resumes; features go to one shared cache.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../src/train/config.js';

export interface TrainJob { name: string; dir: string; config: ConfigInput }

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function runOne(job: TrainJob, cacheDir: string): Promise<void> {
  mkdirSync(job.dir, { recursive: true });
  const cfgFile = join(job.dir, 'bench-config.json');
  writeFileSync(cfgFile, JSON.stringify(job.config, null, 2));
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [cli, 'train', '--config', cfgFile, '--out', job.dir, '--json'], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MMGAP_CACHE: process.env.MMGAP_CACHE ?? cacheDir },
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    p.on('exit', (code) => (code === 0 ? done() : fail(new Error(`${job.name} failed (exit ${code}): ${err}`))));
  });
}

/** Runs the unfinished jobs; logs progress on stderr. */
export async function runJobs(all: TrainJob[], o: { jobs: number; cacheDir: string; log: (s: string) => void }): Promise<void> {
  const pending = all.filter((j) => !existsSync(join(j.dir, 'summary.json')));
  o.log(`${all.length} runs (${all.length - pending.length} finished earlier), ${o.jobs} at a time`);
  let next = 0, finished = 0;
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, async () => {
    while (next < pending.length) {
      const job = pending[next++] as TrainJob;
      const t0 = performance.now();
      await runOne(job, o.cacheDir);
      finished++;
      o.log(`  [${finished}/${pending.length}] ${job.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  }));
}
