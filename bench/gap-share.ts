/**
 * What the diagnosis costs: trains each method on avdigits (fold 0, one after another, in this
 * process) and reports, per method, the run's wall time and the share of it spent on the
 * training-set gap passes (eval predictions, GMM, gaps CSV: EpochMetrics.gapSeconds). Run it once
 * per setting to compare, e.g. diagnosing every epoch against only the selected model, or fp32
 * against bf16 (where the gap pass's forward runs in bf16 too; its softmax and GMM stay fp32), or
 * the eval pass against gapSource train-pass (gaps from the training forward passes), whose effect
 * on the evidence shows in test_acc and auroc (the GMM's AUROC against the corruption flags).
 *
 * Usage: npm run bench:gap-share -- [--quick] [--methods a,b] [--epochs N] [--precision fp32|bf16]
 *        [--diagnose every-epoch|selected] [--gap-source eval-pass|train-pass] [--regime underuse|corrupt] [--threads N] [--json]
 * Last stdout line: {"precision","diagnose","gapSource","total_wall_s","total_gap_s","share","runs":[{"method","wall_s","gap_s","share","test_acc","auroc"}]}.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METHODS } from '../src/methods/registry.js';
import { trainRun } from '../src/train/run.js';
import type { ConfigInput } from '../src/train/config.js';
import type { EpochMetrics } from '../src/train/types.js';

const args = process.argv.slice(2);
const value = (name: string, dflt: string): string => (args.includes(name) ? (args[args.indexOf(name) + 1] as string) : dflt);
const quick = args.includes('--quick');
const json = args.includes('--json');
const methods = value('--methods', quick ? 'joint,gmm-adaptive' : METHODS.map((m) => m.name).join(',')).split(',');
const base: ConfigInput = {
  data: 'avdigits', dataOptions: { regime: value('--regime', 'underuse'), fold: 0 },
  precision: value('--precision', 'fp32') as ConfigInput['precision'],
  diagnose: value('--diagnose', 'every-epoch') as ConfigInput['diagnose'],
  gapSource: value('--gap-source', 'eval-pass') as ConfigInput['gapSource'],
  threads: Number(value('--threads', '0')),
  ...(args.includes('--epochs') ? { epochs: Number(value('--epochs', '15')) } : quick ? { epochs: 4 } : {}),
};
const log = (s: string): void => { process.stderr.write(s + '\n'); };

const runs: { method: string; wall_s: number; gap_s: number; share: number; test_acc: number; auroc: number | null }[] = [];
for (const method of methods) {
  const out = mkdtempSync(join(tmpdir(), 'mmgap-gap-share-'));
  try {
    const s = await trainRun({ ...base, method }, { outDir: out, resume: false });
    const m = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
    const gap = m.reduce((a, e) => a + (e.gapSeconds ?? 0), 0);
    runs.push({ method, wall_s: s.wallSeconds, gap_s: gap, share: gap / s.wallSeconds, test_acc: s.test.acc, auroc: s.auroc });
    log(`${method.padEnd(22)} wall ${s.wallSeconds.toFixed(1)} s, gap passes ${gap.toFixed(1)} s (${(100 * gap / s.wallSeconds).toFixed(1)} %), test acc ${(100 * s.test.acc).toFixed(2)} %`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
const wall = runs.reduce((a, r) => a + r.wall_s, 0);
const gap = runs.reduce((a, r) => a + r.gap_s, 0);
if (!json) {
  console.log(`| method | wall s | gap passes s | share | test acc | AUROC |\n|---|---|---|---|---|---|`);
  for (const r of runs) {
    console.log(`| ${r.method} | ${r.wall_s.toFixed(1)} | ${r.gap_s.toFixed(1)} | ${(100 * r.share).toFixed(1)} % | ${(100 * r.test_acc).toFixed(2)} % | ${r.auroc?.toFixed(3) ?? '-'} |`);
  }
}
console.log(JSON.stringify({ precision: base.precision, diagnose: base.diagnose, gapSource: base.gapSource, total_wall_s: wall, total_gap_s: gap, share: gap / wall, runs }));
