/**
 * What the diagnosis costs: trains each method on avdigits (fold 0, one after another, in this
 * process) and reports, per method, the run's wall time and the share of it spent on the
 * training-set gap passes (eval predictions, GMM, gaps CSV: EpochMetrics.gapSeconds). Run it once
 * per setting to compare, e.g. diagnosing every epoch against only the selected model, or fp32
 * against bf16 (where the gap pass's forward runs in bf16 too; its softmax and GMM stay fp32), or
 * the eval pass against gapSource train-pass (gaps from the training forward passes), whose effect
 * on the evidence shows in test_acc and auroc (the GMM's AUROC against the corruption flags).
 *
 * Options: npm run bench:gap-share -- --help.
 * Last stdout line: {"precision","diagnose","gapSource","total_wall_s","total_gap_s","share","runs":[{"method","wall_s","gap_s","share","test_acc","auroc"}]}.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METHODS } from '../src/methods/registry.js';
import { trainRun } from '../src/train/run.js';
import { RUN_SETTINGS, type ConfigInput } from '../src/train/config.js';
import { AVDIGITS_REGIMES, DEFAULT_REGIME } from '../src/data/index.js';
import { benchArgs } from './args.js';
import type { EpochMetrics } from '../src/train/types.js';

const choice = <K extends 'precision' | 'diagnose' | 'gapSource'>(key: K) =>
  ({ kind: 'string', choices: RUN_SETTINGS[key].choices, default: RUN_SETTINGS[key].default, help: RUN_SETTINGS[key].help }) as const;
const opts = benchArgs('Usage: npm run bench:gap-share -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  quick: { kind: 'flag', help: 'joint and gmm-adaptive, 4 epochs' },
  methods: { kind: 'strings', choices: METHODS.map((m) => m.name), help: 'methods to run (default all; joint,gmm-adaptive with --quick)' },
  epochs: { kind: 'int', help: `epochs per run (default the run's ${RUN_SETTINGS.epochs.default}; 4 with --quick)` },
  regime: { kind: 'string', choices: Object.keys(AVDIGITS_REGIMES), default: DEFAULT_REGIME, help: 'avdigits regime' },
  precision: choice('precision'),
  diagnose: choice('diagnose'),
  gapSource: choice('gapSource'),
  threads: { kind: 'int', min: 0, default: 0, help: RUN_SETTINGS.threads.help },
});
const { quick, json } = opts;
const methods = opts.methods ?? (quick ? ['joint', 'gmm-adaptive'] : METHODS.map((m) => m.name));
const epochs = opts.epochs ?? (quick ? 4 : undefined);
const base: ConfigInput = {
  data: 'avdigits', dataOptions: { regime: opts.regime, fold: 0 },
  precision: opts.precision as ConfigInput['precision'],
  diagnose: opts.diagnose as ConfigInput['diagnose'],
  gapSource: opts.gapSource as ConfigInput['gapSource'],
  threads: opts.threads,
  ...(epochs !== undefined && { epochs }),
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
