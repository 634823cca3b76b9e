/**
 * `mmgap bench`: a methods x seeds (x folds) grid, one run directory each (resumable), aggregated
 * into tables and a chart, every method compared with a reference method on the same test samples.
 */
import { join, relative, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { aggregateBench, benchEntries, benchJsonRows, benchMarkdown, failedLines, writeBenchOutputs } from '../../report/bench-table.js';
import { presetDataset } from '../../report/published.js';
import type { MethodFactory } from '../../methods/method.js';
import { ROLES } from '../../methods/roles.js';
import type { RunConfig, RunSummary } from '../../train/types.js';
import { checkDataSpec } from '../checks.js';
import { printResult, type CliContext } from '../context.js';
import { EXIT, UsageError } from '../errors.js';
import { parseNproc } from '../launch.js';
import { checkGrid, gridFailures, runGrid, type GridRun } from '../grid.js';
import { resumeCommand } from '../interrupt.js';
import { Progress } from '../progress.js';
import { resolveRunConfig } from '../resolve-config.js';
import { addRunFlags, intArg, type RunFlagValues } from '../run-flags.js';

interface BenchFlags extends RunFlagValues {
  nproc?: number;
  masterPort?: number;
  methods?: string[];
  reference: string;
  seeds: number[];
  folds?: number[];
  out?: string;
  resume: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ mmgap bench --methods ${ROLES.reference},${ROLES.default} --seeds 0,1,2 --out runs/bench
  $ mmgap bench --methods ${ROLES.reference},${ROLES.default} --seeds 0 --folds 0,1,2,3,4,5 --purify --json
  $ mmgap bench --config configs/cremad.yaml --data cremad:/data/CREMA-D --methods ${ROLES.reference},${ROLES.default} --seeds 0 --device cuda
  $ mmgap bench --methods ${ROLES.reference},${ROLES.default} --seeds 0,1 --batch-size 64 --nproc 2 --sync-batch-norm

Each (method, seed, fold) trains into <out>/<method>-seed<seed>[-fold<k>], in a process of its own
(its memory goes back to the system before the next run; its stderr is kept in <run>/train.log);
finished runs (summary.json) are skipped, so re-running a stopped benchmark continues it. A run that
crashes (an error, or killed, e.g. by the out-of-memory killer) is listed as failed under the tables
and in --json "failed", the others go on, and the command exits 1; re-running retrains only it. --method-opt keys go to the methods
that have them. --folds sets the dataset option "fold" (avdigits' speaker folds): each seed's test
predictions are pooled over its folds. Writes bench.md, bench.csv, bench.svg and bench.html into
<out>: per method, mean ± std over seeds of test accuracy, macro-F1 and per-modality accuracy,
and the difference in accuracy against --reference with a 95 % paired bootstrap interval over test
samples and McNemar's p. With --purify each method also gets a "method + purify" row. On cremad, ks
and ave it also writes peers.md: accuracy and macro-F1 per method in the peers' format, beside the
accuracy BalanceBenchmark or the method's paper published for that dataset (docs/REPRODUCE.md).
With --nproc N every run trains as N data-parallel ranks on this machine (as \`mmgap train --nproc\`),
one run after the other; rank 0 writes the runs and the tables.`;

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

function intList(what: string): (v: string) => number[] {
  return (v) => {
    const xs = list(v).map(intArg(0));
    if (xs.length === 0) throw new InvalidArgumentError(`expected ${what} such as 0,1,2`);
    return xs;
  };
}

/** Each method gets the --method-opt keys it knows; a key no chosen method knows is a typo. */
function optionsFor(factories: MethodFactory[], opts: Record<string, unknown>): Map<string, Record<string, unknown>> {
  for (const key of Object.keys(opts)) {
    if (!factories.some((f) => key in f.options)) {
      throw new UsageError(`no chosen method has the option "${key}" (methods: ${factories.map((f) => f.name).join(', ')}); fix --method-opt, see \`mmgap methods\``);
    }
  }
  return new Map(factories.map((f) => [f.name, Object.fromEntries(Object.entries(opts).filter(([k]) => k in f.options))]));
}

export function registerBench(program: Command, ctx: CliContext): void {
  const cmd = program.command('bench').description('compare methods on equal terms: one run per (method, seed, fold), then tables with paired intervals against a reference');
  addRunFlags(cmd, { method: false, methodOpt: true })
    .option('--methods <list>', 'comma-separated methods (default: all, see `mmgap methods`)', list)
    .option('--reference <method>', 'the method every row is compared with', ROLES.reference)
    .option('--seeds <list>', 'comma-separated seeds', intList('seeds'), [0, 1, 2])
    .option('--folds <list>', 'comma-separated values of the dataset option "fold" (avdigits: speaker folds); predictions are pooled over them', intList('folds'))
    .option('--out <dir>', 'benchmark folder (default runs/bench-<dataset>)')
    .option('--no-resume', 'retrain runs that have a checkpoint (finished runs are still skipped)')
    .option('--json', 'print the aggregated rows and the output files as one JSON line')
    .option('--nproc <n>', 'train every run as n data-parallel ranks on this machine (as `mmgap train --nproc`): each trains on batchSize / n samples of every batch', parseNproc)
    .option('--master-port <port>', 'rendezvous port of --nproc (default: a free one)', (t) => Number(t))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: BenchFlags) => {
      const trainer = await ctx.loadTrainer();
      const known = (name: string): MethodFactory => {
        const f = trainer.methods.find((m) => m.name === name);
        if (!f) throw new UsageError(`unknown method "${name}" (known: ${trainer.methods.map((m) => m.name).join(', ')}); fix --methods or --reference, see \`mmgap methods\``);
        return f;
      };
      const names = flags.methods ?? trainer.methods.map((m) => m.name);
      if (!names.includes(flags.reference)) names.unshift(flags.reference);
      const factories = names.map(known);
      const options = optionsFor(factories, (flags.methodOpt as Record<string, unknown> | undefined) ?? {});
      const folds: (number | null)[] = flags.folds ?? [null];
      const runs: GridRun[] = factories.flatMap((f) => {
        const config = resolveRunConfig({ ...flags, method: f.name, methodOpt: options.get(f.name) }, trainer.methods);
        return flags.seeds.flatMap((seed) => folds.map((fold) => ({
          label: f.name,
          fold: fold === null ? '' : String(fold),
          dir: `${f.name}-seed${seed}${fold === null ? '' : `-fold${fold}`}`,
          config: { ...config, seed, ...(fold !== null && { dataOptions: { ...config.dataOptions, fold } }) } satisfies RunConfig,
        })));
      });
      const base = runs[0]?.config as RunConfig;
      checkDataSpec(base.data);
      const outDir = resolve(flags.out ?? `runs/bench-${base.data.split(':')[0]}`);
      for (const r of runs) r.dir = join(outDir, r.dir);
      await checkGrid(runs, flags.resume);
      // --nproc: every run trains as that many ranks (its own `mmgap train --nproc`). Started as one
      // rank of a job (torchrun's variables), each run's process joins that job.
      const nproc = ctx.io.env.WORLD_SIZE === undefined && (flags.nproc ?? 1) > 1 ? ['--nproc', String(flags.nproc), ...(flags.masterPort ? ['--master-port', String(flags.masterPort)] : [])] : [];
      const rank = Number(ctx.io.env.RANK ?? 0);
      // Rank 0 speaks for the job; the others train quietly.
      const progress = new Progress(ctx.io, flags.json === true || rank !== 0);
      const outcomes = await runGrid(ctx.io, runs, { resume: flags.resume, progress, echo: true, trainFlags: nproc, quietRank: rank !== 0, resumeHint: `resume with: ${resumeCommand(ctx.argv)}` });
      if (rank !== 0) return;
      const finished = outcomes.filter((x) => x.summary !== null);
      const failed = gridFailures(outcomes);
      const entries = finished.flatMap((x) => benchEntries(x.summary as RunSummary, x.run.label, x.run.dir, x.run.fold ?? ''));
      const rows = aggregateBench(entries, { reference: flags.reference });
      const files = await writeBenchOutputs(outDir, rows, {
        title: `mmgap bench: ${base.data}, seeds ${flags.seeds.join(', ')}${flags.folds ? `, folds ${flags.folds.join(', ')}` : ''}`,
        reference: flags.reference,
        intro: `Best epoch chosen on validation, test evaluated once per run. Δ: difference in test accuracy against ${flags.reference} on the same test samples, ` +
          '95 % paired bootstrap interval (samples resampled with all their seeds); "within noise" when the interval holds 0.',
        links: finished.map((x) => ({ label: `${x.run.label} seed ${x.run.config.seed}${x.run.fold ? ` fold ${x.run.fold}` : ''}`, href: relative(outDir, join(x.run.dir, 'report.html')) })),
        dataset: presetDataset(base.data),
        failed,
      });
      if (failed.length > 0) ctx.exitCode = EXIT.failure;
      const runsJson = finished.map((x) => ({ label: x.run.label, seed: x.run.config.seed as number, fold: x.run.fold ?? '', outDir: x.run.dir, report: relative(outDir, join(x.run.dir, 'report.html')) }));
      printResult(ctx, flags.json === true, [benchMarkdown(rows, flags.reference).trimEnd(), ...failedLines(failed), `tables: ${files.markdown}, ${files.csv}${files.peers ? `, ${files.peers} (beside the published numbers)` : ''}`, `chart: ${files.svg}, page: ${files.html}`],
        { outDir, reference: flags.reference, rows: benchJsonRows(rows), files, runs: runsJson, failed });
    });
}
