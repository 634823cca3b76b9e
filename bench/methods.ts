/**
 * The evidence tables: every method on avdigits in both regimes ('underuse': the weak modality
 * informative but under-trained by joint training; 'corrupt': the same data with 20 % of samples'
 * images corrupted, with ground truth), on the speaker-independent 3-fold protocol (each fold's
 * test set is two speakers never heard in training; a seed's 3 folds pool 3,000 test
 * predictions), plus purification and the adaptive loss's ablations. Every row is compared with
 * joint training on the same test samples (paired bootstrap interval, McNemar's p).
 *
 * Each run goes through the `mmgap train` command into its own run directory (bench/run-jobs.ts:
 * resumable, `--jobs` at a time, default one per core; features computed once per (regime, fold)).
 *
 * Options: npm run bench:methods -- --help.
 * Writes DIR/<regime>/bench.{md,csv,svg,html} and vs-<default method>.md (every row against mmgap's
 * own method on the same test samples), or with --tag into DIR/<regime>/<NAME>/ (a table of some
 * rows beside the full one; finished runs are shared). Rows marked `onRequest` (the engine
 * variants: bf16, gaps from the training pass) run only when --rows names them.
 * The last stdout line is one JSON object whose
 * `rows` carry, per (regime, method), acc, f1, diff_vs_ref {diff, lo, hi} and mcnemar_p.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { aggregateBench, benchEntries, benchJsonRows, benchMarkdown, writeBenchOutputs, type BenchEntry } from '../src/report/bench-table.js';
import { ROLES } from '../src/methods/roles.js';
import { METHODS } from '../src/methods/registry.js';
import type { RunSummary } from '../src/train/types.js';
import type { ConfigInput } from '../src/train/config.js';
import { AVDIGITS_REGIMES } from '../src/data/index.js';
import { runJobs } from './run-jobs.js';
import { benchArgs } from './args.js';
import { benchOverrides, methodRows, type Row } from './method-rows.js';

const opts = benchArgs('Usage: npm run bench:methods -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  quick: { kind: 'flag', help: 'joint and the default method only, fold 0, purification of 1 epoch' },
  jobs: { kind: 'int', default: availableParallelism(), help: 'runs at a time' },
  seeds: { kind: 'ints', min: 0, default: [0], help: 'seeds' },
  folds: { kind: 'ints', min: 0, help: 'folds (default 0,1,2; 0 with --quick)' },
  regimes: { kind: 'strings', choices: Object.keys(AVDIGITS_REGIMES), default: Object.keys(AVDIGITS_REGIMES), help: 'avdigits regimes' },
  rows: { kind: 'strings', help: 'only these rows, by label (the rows marked onRequest run only when named here)' },
  tag: { kind: 'string', help: 'write the table into DIR/<regime>/<NAME>/ beside the full one' },
  out: { kind: 'string', help: 'output folder (default bench-out/methods; bench-out/methods-quick with --quick)' },
});
const { quick, jobs, seeds, regimes } = opts;
const folds = opts.folds ?? (quick ? [0] : [0, 1, 2]);
const out = resolve(opts.out ?? (quick ? 'bench-out/methods-quick' : 'bench-out/methods'));
const log = (s: string): void => { process.stderr.write(s + '\n'); };

/** Purification as benchmarked: its defaults (one epoch in --quick). */
const PURIFY = quick ? { epochs: 1 } : {};
const own = (methodOptions: Record<string, unknown> = {}, purify = false): ConfigInput => ({ method: ROLES.default, methodOptions, purify: purify ? PURIFY : null });

const ROWS: Row[] = quick
  ? [{ label: ROLES.reference, config: { method: ROLES.reference } }, { label: ROLES.default, config: own({}, true) }]
  : [
    // Every registered method (bench/method-rows.ts: those whose defaults do not fit have their rows there).
    ...methodRows(METHODS, benchOverrides(PURIFY)),
    // The adaptive loss with each term off in turn (the defaults' ablation), in the regime it is
    // built for (the budget of one hour on 2 cores leaves no room for both).
    ...[
      { label: 'ablation: beta=0 (no fusion priority)', config: own({ beta: 0 }) },
      { label: 'ablation: kappa=0 (gap term on imbalanced samples too)', config: own({ kappa: 0 }) },
      { label: 'ablation: lambdaGap=0 (no gap term)', config: own({ lambdaGap: 0 }) },
      { label: 'ablation: lambdaAlign=0 (no align term)', config: own({ lambdaAlign: 0 }) },
      { label: 'ablation: gapSpace=prob, lambdaGap=0.5 (the design\'s first form)', config: own({ gapSpace: 'prob', lambdaGap: 0.5 }) },
    ].map((r) => ({ ...r, regimes: ['underuse'] })),
    // Each modality's own cross-entropy added (what sample-level valuation's single-modality copies give the strong modality; issue #29).
    { label: `${ROLES.default} (lambdaUni=1)`, config: own({ lambdaUni: 1 }), onRequest: true },
    // As many optimisation steps as sample-level valuation takes with its single-modality copies
    // (~3 visits per sample per epoch after its warm-up in the small regime: ~35 epochs' worth).
    { label: 'joint (35 epochs)', config: { method: ROLES.reference, epochs: 35 }, onRequest: true },
    { label: `${ROLES.default} (35 epochs)`, config: { ...own({}), epochs: 35 }, onRequest: true },
    // The subgroup decision's options (issue #29): the GMM on per-class standardised gaps; gamma weighted by the BIC evidence.
    { label: `${ROLES.default} (gmmPerClass)`, config: own({ gmmPerClass: true }, true), onRequest: true },
    { label: `${ROLES.default} (gmmDecision=soft)`, config: own({ gmmDecision: 'soft' }, true), onRequest: true },
    // The engine's options, against the same runs in fp32 with the eval-pass gaps (issue #13).
    { label: 'joint (bf16)', config: { method: ROLES.reference, precision: 'bf16' }, onRequest: true },
    { label: `${ROLES.default} (bf16)`, config: { ...own({}), precision: 'bf16' }, onRequest: true },
    { label: `${ROLES.default} (gapSource train-pass)`, config: { ...own({}), gapSource: 'train-pass' }, onRequest: true },
  ];

const slug = (s: string): string => s.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();

interface Job { regime: string; label: string; seed: number; fold: number; dir: string; config: ConfigInput }
// --rows a,b: only these rows (labels), e.g. to add a seed to the rows a claim rests on.
const only = opts.rows ?? null;
for (const label of only ?? []) if (!ROWS.some((r) => r.label === label)) throw new Error(`--rows: unknown row "${label}" (known: ${ROWS.map((r) => r.label).join(', ')})`);
const rowsRun = ROWS.filter((r) => (only ? only.includes(r.label) : !r.onRequest));
const tag = opts.tag ?? null;
const tableDir = (regime: string): string => (tag ? join(out, regime, slug(tag)) : join(out, regime));
const todo: Job[] = regimes.flatMap((regime) => rowsRun.filter((r) => !r.regimes || r.regimes.includes(regime)).flatMap((r) => seeds.flatMap((seed) => folds.map((fold) => ({
  regime, label: r.label, seed, fold,
  dir: join(out, regime, slug(r.label), `seed${seed}-fold${fold}`),
  config: {
    // Diagnostics for the selected epoch only: one pass over the training set less per epoch.
    data: 'avdigits', threads: jobs > 1 ? 1 : 0, diagnose: 'selected', ...(quick && { epochs: 3, warmup: 1 }), ...r.config,
    dataOptions: { regime, folds: 3, fold }, seed,
  },
})))));

const started = performance.now();
log(`bench:methods into ${out}`);
await runJobs(todo.map((j) => ({ name: `${j.regime} / ${j.label} seed ${j.seed} fold ${j.fold}`, dir: j.dir, config: j.config })), { jobs, cacheDir: join(out, 'feature-cache'), log });

const rows: Record<string, unknown>[] = [];
for (const regime of regimes) {
  const jobsOf = todo.filter((j) => j.regime === regime);
  const entries: BenchEntry[] = jobsOf.flatMap((j) => benchEntries(JSON.parse(readFileSync(join(j.dir, 'summary.json'), 'utf8')) as RunSummary, j.label, j.dir, String(j.fold)));
  const table = aggregateBench(entries, { reference: ROLES.reference });
  mkdirSync(tableDir(regime), { recursive: true });
  await writeBenchOutputs(tableDir(regime), table, {
    title: `mmgap methods on avdigits, regime ${regime}`,
    reference: ROLES.reference,
    intro: `Speaker-independent 3-fold protocol (test speakers never heard in training), folds ${folds.join(', ')} pooled, seed(s) ${seeds.join(', ')}; ` +
      `best epoch chosen on validation, test evaluated once per run; Δ: against ${ROLES.reference} on the same test samples, 95 % paired bootstrap interval; ` +
      `${jobs} run(s) at a time (wall time per run measured so).`,
  });
  // The same runs against mmgap's own method: is any baseline ahead of it beyond the noise?
  const vsDefault = jobsOf.some((j) => j.label === ROLES.default) ? benchMarkdown(aggregateBench(entries, { reference: ROLES.default }), ROLES.default) : '';
  if (vsDefault) writeFileSync(join(tableDir(regime), `vs-${ROLES.default}.md`), vsDefault);
  if (!opts.json) process.stdout.write(`\n## ${regime}\n\n${benchMarkdown(table, ROLES.reference)}\n### against ${ROLES.default}\n\n${vsDefault}`);
  rows.push(...benchJsonRows(table).map((r) => ({ regime, ...r })));
}
console.log(JSON.stringify({ out, seeds, folds, regimes, jobs, reference: ROLES.reference, wall_s: (performance.now() - started) / 1000, rows }));
