/**
 * The subgroup decision compared on finished runs (issue #29, item 2), without training: each
 * run's training-set gaps at its selected epoch (gaps/epoch-N.csv, written by diagnose) go
 * through every decision variant of imbalancePosterior, and the table shows, per run, the AUROC
 * of gamma against the corruption flags (where the data has them) and the share of samples
 * declared imbalanced (gamma > 0.5). The goal: AUROC >= 0.9 on every fold of `corrupt`, no
 * subgroup on balanced data. Training-split diagnostics only: no validation or test score is read.
 *
 * Usage: npx vite-node bench/subgroup.ts -- RUN_DIR...
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auroc, imbalancePosterior, shareAbove, type ImbalancePosteriorOptions } from '../src/core/index.js';
import type { RunSummary } from '../src/train/types.js';

const VARIANTS: Record<string, ImbalancePosteriorOptions & { perClass?: boolean }> = {
  bic: { decision: 'bic' },
  'soft (diagnoseGaps raw)': {},
  'bic, D >= 2': { decision: 'bic', minSeparation: 2 },
  'soft, D >= 2': { decision: 'soft', minSeparation: 2 },
  'bic, |d|': { decision: 'bic', gmmOn: 'absolute' },
  'soft, |d|': { decision: 'soft', gmmOn: 'absolute' },
  'bic, per-class standardised d': { decision: 'bic', perClass: true },
  'soft, per-class standardised d (the diagnostics\' default)': { decision: 'soft', perClass: true },
};

const dirs = process.argv.slice(2).filter((a) => a !== '--');
if (dirs.length === 0) throw new Error('usage: npx vite-node bench/subgroup.ts -- RUN_DIR... (finished runs with gaps/epoch-N.csv at their selected epoch)');
const header = ['run', 'epoch', ...Object.keys(VARIANTS).map((v) => `${v}: AUROC / share`)];
process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
for (const dir of dirs) {
  const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  const file = join(dir, 'gaps', `epoch-${s.bestEpoch}.csv`);
  if (!readdirSync(join(dir, 'gaps')).includes(`epoch-${s.bestEpoch}.csv`)) throw new Error(`${file} is missing: train with diagnose 'selected' or 'every-epoch'`);
  const rows = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const gaps = Float64Array.from(rows, (r) => Number(r[2]));
  const labels = Int32Array.from(rows, (r) => Number(r[1]));
  const flags = rows.map((r) => r[5] === '1');
  const truth = flags.some(Boolean);
  const cells = Object.values(VARIANTS).map(({ perClass, ...o }) => {
    const post = imbalancePosterior(gaps, { ...o, ...(perClass && { classLabels: labels }), seed: s.seed });
    return `${truth ? auroc(post.gamma, flags).toFixed(3) : '–'} / ${(100 * shareAbove(post.gamma, 0.5)).toFixed(1)} %`;
  });
  process.stdout.write(`| ${dir} | ${s.bestEpoch} | ${cells.join(' | ')} |\n`);
  if (truth) process.stdout.write(`|  raw gap AUROC | | ${auroc(gaps, flags).toFixed(3)} |\n`);
}
