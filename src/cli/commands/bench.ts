/** `mmgap bench`: a methods x seeds grid, one run directory each (resumable), aggregated into tables and a chart. */
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { aggregateBench, benchMarkdown, writeBenchOutputs } from '../../report/bench-table.js';
import type { MethodFactory } from '../../methods/method.js';
import type { RunConfig } from '../../train/types.js';
import { checkDataSpec, checkMethod, findMethod } from '../checks.js';
import { printResult, type CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { checkGrid, runGrid, type GridRun } from '../grid.js';
import { Progress } from '../progress.js';
import { resolveRunConfig } from '../resolve-config.js';
import { addRunFlags, intArg, type RunFlagValues } from '../run-flags.js';

interface BenchFlags extends RunFlagValues {
  methods?: string[];
  seeds: number[];
  out?: string;
  resume: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ mmgap bench --methods joint,gmm-adaptive --seeds 0,1,2 --out runs/bench
  $ mmgap bench --config configs/cremad.yaml --data cremad:/data/CREMA-D --methods joint,gmm-adaptive --seeds 0,1 --purify --json

Each (method, seed) trains into <out>/<method>-seed<seed>; finished runs (summary.json) are skipped,
so re-running a stopped benchmark continues it. --method-opt keys go to the methods that have them.
Writes bench.md, bench.csv, bench.svg and bench.html into <out>: mean ± std over seeds of test
accuracy, macro-F1, per-modality accuracy, AUROC and wall time. With --purify each method also
gets a "method + purify" row.`;

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

function seedList(v: string): number[] {
  const seeds = list(v).map(intArg(0));
  if (seeds.length === 0) throw new InvalidArgumentError('expected seeds such as 0,1,2');
  return seeds;
}

/** Each method gets the --method-opt keys it knows; a key no chosen method knows is a typo. */
function optionsFor(factories: MethodFactory[], opts: Record<string, unknown>): Map<string, Record<string, unknown>> {
  for (const key of Object.keys(opts)) {
    if (!factories.some((f) => key in f.defaults)) {
      throw new UsageError(`no chosen method has the option "${key}" (methods: ${factories.map((f) => f.name).join(', ')}); fix --method-opt, see \`mmgap methods\``);
    }
  }
  return new Map(factories.map((f) => [f.name, Object.fromEntries(Object.entries(opts).filter(([k]) => k in f.defaults))]));
}

export function registerBench(program: Command, ctx: CliContext): void {
  const cmd = program.command('bench').description('compare methods over seeds on equal terms: one run per (method, seed), then a table and a chart');
  addRunFlags(cmd, { method: false, methodOpt: true })
    .option('--methods <list>', 'comma-separated methods (default: all, see `mmgap methods`)', list)
    .option('--seeds <list>', 'comma-separated seeds', seedList, [0, 1, 2])
    .option('--out <dir>', 'benchmark folder (default runs/bench-<dataset>)')
    .option('--no-resume', 'retrain runs that have a checkpoint (finished runs are still skipped)')
    .option('--json', 'print the aggregated rows and the output files as one JSON line')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: BenchFlags) => {
      const base = resolveRunConfig(flags);
      checkDataSpec(base.data);
      const trainer = await ctx.loadTrainer();
      const factories = (flags.methods ?? trainer.methods.map((m) => m.name)).map((name) => findMethod(name, trainer.methods));
      const options = optionsFor(factories, base.methodOptions);
      const runs: GridRun[] = factories.flatMap((f) =>
        flags.seeds.map((seed) => {
          const config: RunConfig = { ...base, method: f.name, methodOptions: options.get(f.name) ?? {}, seed };
          checkMethod(config.method, config.methodOptions, trainer.methods);
          return { label: f.name, dir: `${f.name}-seed${seed}`, config };
        }),
      );
      const outDir = resolve(flags.out ?? `runs/bench-${base.data.split(':')[0]}`);
      await checkGrid(outDir, runs, flags.resume);
      const progress = new Progress(ctx.io, flags.json === true);
      const grid = await runGrid(ctx, trainer, outDir, runs, { resume: flags.resume, progress });
      const rows = aggregateBench(grid.entries);
      const files = await writeBenchOutputs(outDir, rows, {
        title: `mmgap bench: ${base.data}, seeds ${flags.seeds.join(', ')}`,
        links: grid.runs.map((r) => ({ label: `${r.label} seed ${r.seed}`, href: r.report })),
      });
      printResult(ctx, flags.json === true, [benchMarkdown(rows).trimEnd(), `tables: ${files.markdown}, ${files.csv}`, `chart: ${files.svg}, page: ${files.html}`], { outDir, rows, files, runs: grid.runs });
    });
}
