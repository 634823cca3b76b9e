/**
 * The evidence table: every method on avdigits (default corruption), 3 seeds, plus gmm-adaptive
 * with purification and the ablations of the adaptive loss (each term off in turn). Each run goes
 * through the `mmgap train` command into its own run directory; finished runs (summary.json) are
 * skipped, so a killed benchmark resumes. Runs go `--jobs` at a time (default: one per core,
 * each with one libtorch thread: small CNNs use two cores better as two runs than as one).
 *
 * Usage: npm run bench:methods -- [--quick] [--jobs N] [--seeds 0,1,2] [--out DIR] [--json]
 * Writes DIR/bench.md, bench.csv, bench.svg, bench.html; the last stdout line is a JSON summary.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aggregateBench, benchEntries, benchMarkdown, writeBenchOutputs, type BenchEntry } from '../src/report/bench-table.js';
import type { RunSummary } from '../src/train/types.js';
import type { ConfigInput as RunConfigInput } from '../src/train/config.js';

const args = process.argv.slice(2);
const value = (name: string, dflt: string): string => (args.includes(name) ? (args[args.indexOf(name) + 1] as string) : dflt);
const quick = args.includes('--quick');
const jobs = Number(value('--jobs', String(availableParallelism())));
const seeds = value('--seeds', quick ? '0' : '0,1,2').split(',').map(Number);
const out = value('--out', quick ? 'bench-out/methods-quick' : 'bench-out/methods');
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const log = (s: string): void => { process.stderr.write(s + '\n'); };

const PURIFY = { tau: 0.5, epochs: 3, lrFactor: 0.1, loss: 'ce' as const };
/** Every row shares these; the baselines start from epoch 0 (their own schedules), ours warms up. */
const common: RunConfigInput = { data: 'avdigits', threads: jobs > 1 ? 1 : 0, ...(quick ? { epochs: 3 } : {}) };
const gmm = (methodOptions: Record<string, unknown>, purify = false): RunConfigInput =>
  ({ method: 'gmm-adaptive', warmup: quick ? 1 : 3, methodOptions, purify: purify ? PURIFY : null });
const ROWS: { label: string; config: RunConfigInput }[] = [
  { label: 'joint', config: { method: 'joint', warmup: 0, purify: PURIFY } },
  { label: 'unimodal (audio)', config: { method: 'unimodal', warmup: 0, methodOptions: { modality: 'audio' } } },
  { label: 'unimodal (visual)', config: { method: 'unimodal', warmup: 0, methodOptions: { modality: 'visual' } } },
  { label: 'ogm-ge', config: { method: 'ogm-ge', warmup: 0 } },
  { label: 'pmr', config: { method: 'pmr', warmup: 0 } },
  { label: 'mmpareto', config: { method: 'mmpareto', warmup: 0 } },
  { label: 'sample-valuation', config: { method: 'sample-valuation', warmup: 0 } },
  { label: 'gmm-adaptive', config: gmm({}, true) },
  // The variant with the best mean validation accuracy among those tried (docs/RESULTS.md).
  { label: 'gmm-adaptive, val-tuned (kappa=0, lambdaAlign=0, lambdaGap=0.2)', config: gmm({ kappa: 0, lambdaAlign: 0, lambdaGap: 0.2 }) },
  { label: 'ablation: beta=0 (no fusion priority)', config: gmm({ beta: 0 }) },
  { label: 'ablation: kappa=0 (no extra gap weight)', config: gmm({ kappa: 0 }) },
  { label: 'ablation: lambdaGap=0 (no gap term)', config: gmm({ lambdaGap: 0 }) },
  { label: 'ablation: lambdaAlign=0 (no align term)', config: gmm({ lambdaAlign: 0 }) },
  { label: 'ablation: gmmOn=absolute', config: gmm({ gmmOn: 'absolute' }) },
  { label: 'ablation: gapGrad=both', config: gmm({ gapGrad: 'both' }) },
];

const slug = (s: string): string => s.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();

interface Job { label: string; seed: number; dir: string; config: RunConfigInput }
const todo: Job[] = ROWS.flatMap((r) => seeds.map((seed) => ({ label: r.label, seed, dir: join(out, slug(r.label), `seed${seed}`), config: { ...common, ...r.config, seed } })));

function runOne(job: Job): Promise<void> {
  mkdirSync(job.dir, { recursive: true });
  const cfgFile = join(job.dir, 'bench-config.json');
  writeFileSync(cfgFile, JSON.stringify(job.config, null, 2));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, 'train', '--config', cfgFile, '--out', job.dir, '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${job.label} seed ${job.seed} failed (exit ${code}): ${err}`))));
  });
}

const started = performance.now();
let next = 0, done = 0;
const pending = todo.filter((j) => !existsSync(join(j.dir, 'summary.json')));
log(`bench:methods: ${todo.length} runs (${todo.length - pending.length} finished earlier), ${jobs} at a time, into ${out}`);
await Promise.all(Array.from({ length: Math.max(1, jobs) }, async () => {
  while (next < pending.length) {
    const job = pending[next++] as Job;
    const t0 = performance.now();
    await runOne(job);
    done++;
    log(`  [${done}/${pending.length}] ${job.label} seed ${job.seed}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}));

const entries: BenchEntry[] = todo.flatMap((j) => benchEntries(JSON.parse(readFileSync(join(j.dir, 'summary.json'), 'utf8')) as RunSummary, j.label));
const rows = aggregateBench(entries);
await writeBenchOutputs(out, rows, {
  title: 'mmgap methods on avdigits',
  intro: `${seeds.length} seed(s); best epoch chosen on validation, test evaluated once; ${jobs} run(s) at a time (wall time per run measured so).`,
});
if (!args.includes('--json')) process.stdout.write(benchMarkdown(rows));
console.log(JSON.stringify({ out, seeds, jobs, wall_s: (performance.now() - started) / 1000, rows }));
