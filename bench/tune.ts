/**
 * Choosing gmm-adaptive's defaults on VALIDATION only: each variant of the adaptive loss runs on
 * both avdigits regimes and the 3 speaker folds, and the table shows validation accuracy (each
 * run's selected epoch; pooled mean over folds) per regime and their mean, the number the
 * defaults are chosen by. This script never reads a test score.
 *
 * With `--purify-of VARIANT`, the same for purification: every purification variant fine-tunes a
 * copy of each finished run of VARIANT (`mmgap purify`), and the table shows the purified model's
 * validation accuracy next to the model it started from.
 *
 * Options: npm run bench:tune -- --help.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ROLES } from '../src/methods/roles.js';
import type { RunSummary } from '../src/train/types.js';
import { mean } from '../src/core/index.js';
import { AVDIGITS_REGIMES } from '../src/data/index.js';
import { inPool, runCli, runJobs } from './run-jobs.js';
import { benchArgs } from './args.js';

const log = (s: string): void => { process.stderr.write(s + '\n'); };

/** The variants tried (method options of the default method; `method` overrides it for reference rows). */
const VARIANTS: Record<string, { method?: string; methodOptions?: Record<string, unknown> }> = {
  [ROLES.reference]: { method: ROLES.reference },
  // Round 1: the gap's space and weight, and the GMM-guided weights.
  'design-defaults': { methodOptions: { gapSpace: 'prob', lambdaGap: 0.5, kappa: 1, beta: 1, lambdaAlign: 0.1 } },
  'log-0.5': { methodOptions: { gapSpace: 'log', lambdaGap: 0.5 } },
  'log-1': { methodOptions: { gapSpace: 'log', lambdaGap: 1 } },
  'log-2': { methodOptions: { gapSpace: 'log', lambdaGap: 2 } },
  'log-1-kappa0': { methodOptions: { gapSpace: 'log', lambdaGap: 1, kappa: 0 } },
  'log-1-beta0': { methodOptions: { gapSpace: 'log', lambdaGap: 1, beta: 0 } },
  // Round 2: around the round's best (log, lambdaGap 2).
  'log-3': { methodOptions: { gapSpace: 'log', lambdaGap: 3 } },
  'log-4': { methodOptions: { gapSpace: 'log', lambdaGap: 4 } },
  'log-2-kappa-1': { methodOptions: { gapSpace: 'log', lambdaGap: 2, kappa: -1 } },
  'log-2-kappa3': { methodOptions: { gapSpace: 'log', lambdaGap: 2, kappa: 3 } },
  'log-2-beta3': { methodOptions: { gapSpace: 'log', lambdaGap: 2, beta: 3 } },
  'log-2-align0': { methodOptions: { gapSpace: 'log', lambdaGap: 2, lambdaAlign: 0 } },
  'log-2-absolute': { methodOptions: { gapSpace: 'log', lambdaGap: 2, gmmOn: 'absolute' } },
  // Round 3 (issue #29): the defaults against their control, the subgroup decision, and each
  // modality's own CE (what sample-level valuation gives the strong modality), in the three regimes.
  'gap-loss': { method: 'gap-loss' },
  'sample-valuation': { method: 'sample-valuation' },
  'log-2-kappa-1-soft': { methodOptions: { gapSpace: 'log', lambdaGap: 2, kappa: -1, gmmDecision: 'soft' } },
  'log-2-kappa-1-uni-1': { methodOptions: { gapSpace: 'log', lambdaGap: 2, kappa: -1, lambdaUni: 1 } },
};
/**
 * Purification variants (flags of `mmgap purify`); all fine-tune 3 epochs at lr x 0.1. Under the
 * default `--purify-decide validation` a purified model that validation does not support is
 * discarded, and its "after" is the model before purification.
 */
const PURIFY_VARIANTS: Record<string, string[]> = {
  'tau-0.5': ['--purify-keep', 'tau', '--purify-tau', '0.5'],
  mixture: ['--purify-keep', 'mixture'],
  soft: ['--purify-keep', 'soft'],
  'tau-0.5-head': ['--purify-keep', 'tau', '--purify-tau', '0.5', '--purify-params', 'head'],
  'soft-head': ['--purify-keep', 'soft', '--purify-params', 'head'],
  'tau-0.5-method': ['--purify-keep', 'tau', '--purify-tau', '0.5', '--purify-loss', 'method'],
  'tau-0.5-absolute': ['--purify-keep', 'tau', '--purify-tau', '0.5', '--purify-gmm-on', 'absolute'],
  // The purified model kept whatever validation says (the behaviour before issue #29's decision).
  'tau-0.5-always': ['--purify-keep', 'tau', '--purify-tau', '0.5', '--purify-decide', 'always'],
  'soft-always': ['--purify-keep', 'soft', '--purify-decide', 'always'],
};

const opts = benchArgs('Usage: npm run bench:tune -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  variants: { kind: 'strings', choices: Object.keys(VARIANTS), default: Object.keys(VARIANTS), help: 'variants of the adaptive loss to run' },
  purifyOf: { kind: 'string', choices: Object.keys(VARIANTS), help: 'instead: every purification variant on the finished runs of this variant' },
  jobs: { kind: 'int', default: availableParallelism(), help: 'runs at a time' },
  seeds: { kind: 'ints', min: 0, default: [0], help: 'seeds' },
  folds: { kind: 'ints', min: 0, default: [0, 1, 2], help: 'folds' },
  regimes: { kind: 'strings', choices: Object.keys(AVDIGITS_REGIMES), default: Object.keys(AVDIGITS_REGIMES), help: 'avdigits regimes' },
  out: { kind: 'string', default: 'bench-out/tune', help: 'output folder' },
});
const { jobs, seeds, folds, regimes } = opts;
const out = resolve(opts.out);
const purifyOf = opts.purifyOf ?? null;
const chosen = purifyOf ? [purifyOf] : opts.variants;

const todo = chosen.flatMap((variant) => regimes.flatMap((regime) => seeds.flatMap((seed) => folds.map((fold) => ({
  variant, regime, seed, fold,
  name: `${variant} / ${regime} seed ${seed} fold ${fold}`,
  dir: join(out, regime, variant, `seed${seed}-fold${fold}`),
  config: { data: 'avdigits', method: ROLES.default, ...VARIANTS[variant], threads: jobs > 1 ? 1 : 0, dataOptions: { regime, folds: 3, fold }, seed },
})))));
await runJobs(todo, { jobs, cacheDir: join(out, 'feature-cache'), log });

if (purifyOf) {
  const tasks = Object.entries(PURIFY_VARIANTS).flatMap(([pv, flags]) => todo.map((j) => ({ pv, flags, regime: j.regime, src: j.dir, dir: join(out, j.regime, `${purifyOf}+purify-${pv}`, j.dir.split('/').at(-1) as string) })));
  await inPool(tasks, jobs, async (t) => {
    const done = existsSync(join(t.dir, 'summary.json')) && (JSON.parse(readFileSync(join(t.dir, 'summary.json'), 'utf8')) as RunSummary).purification;
    if (done) return;
    cpSync(t.src, t.dir, { recursive: true });
    await runCli(['purify', t.dir, ...t.flags, '--purify-epochs', '3', '--json'], `purify ${t.dir}`);
    log(`  purified ${t.dir}`);
  });
  const rows = Object.keys(PURIFY_VARIANTS).map((pv) => {
    const per = Object.fromEntries(regimes.map((regime) => {
      const ss = tasks.filter((t) => t.pv === pv && t.regime === regime).map((t) => (JSON.parse(readFileSync(join(t.dir, 'summary.json'), 'utf8')) as RunSummary).purification!);
      return [regime, { before: mean(ss.map((x) => x.beforeVal.acc)), after: mean(ss.map((x) => x.afterVal.acc)), kept: mean(ss.map((x) => x.keptFraction)) }];
    }));
    return { variant: pv, ...per, mean: mean(regimes.map((r) => (per[r] as { after: number }).after)) };
  });
  if (!opts.json) {
    process.stdout.write(`| purification of ${purifyOf} | ${regimes.map((r) => `val acc % before -> after, kept (${r})`).join(' | ')} | mean after |\n|---|${regimes.map(() => '---|').join('')}---|\n`);
    for (const r of rows) {
      const cells = regimes.map((g) => { const x = (r as unknown as Record<string, { before: number; after: number; kept: number }>)[g]!; return `${(100 * x.before).toFixed(2)} -> ${(100 * x.after).toFixed(2)}, ${(100 * x.kept).toFixed(0)} %`; });
      process.stdout.write(`| ${r.variant} | ${cells.join(' | ')} | ${(100 * r.mean).toFixed(2)} |\n`);
    }
  }
  console.log(JSON.stringify({ out, purifyOf, rows }));
  process.exit(0);
}

/** Validation accuracy of the selected epoch, pooled over folds (equal-sized validation splits: the mean). */
const table = chosen.map((variant) => {
  const perRegime = Object.fromEntries(regimes.map((regime) => {
    const accs = todo.filter((j) => j.variant === variant && j.regime === regime)
      .map((j) => (JSON.parse(readFileSync(join(j.dir, 'summary.json'), 'utf8')) as RunSummary).val.acc);
    return [regime, mean(accs)];
  }));
  return { variant, ...perRegime, mean: mean(Object.values(perRegime)) };
});
if (!opts.json) {
  process.stdout.write(`| variant | ${regimes.map((r) => `val acc % (${r})`).join(' | ')} | mean |\n|---|${regimes.map(() => '---|').join('')}---|\n`);
  for (const r of table) process.stdout.write(`| ${r.variant} | ${regimes.map((g) => (100 * (r as unknown as Record<string, number>)[g]!).toFixed(2)).join(' | ')} | ${(100 * r.mean).toFixed(2)} |\n`);
}
console.log(JSON.stringify({ out, seeds, folds, regimes, rows: table }));
