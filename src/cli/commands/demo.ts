/**
 * `mmgap demo`: the README's main job. On avdigits: the reference method (joint training) vs
 * mmgap's default method vs that method + purification (the purified model comes from the same
 * run, so two trainings give three rows), a table with the paired comparison against the
 * reference on the terminal, and a report page linking each run's own report.
 */
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { aggregateBench, benchEntries, benchJsonRows, benchMarkdown, failedLines, writeBenchOutputs } from '../../report/bench-table.js';
import { checkDataSpec } from '../checks.js';
import { ROLES } from '../../methods/roles.js';
import { DEFAULT_CONFIG, epochsLabel, type ConfigInput } from '../../train/config.js';
import { printResult, type CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { checkGrid, gridFailures, runGrid, type GridRun } from '../grid.js';
import { resumeCommand } from '../interrupt.js';
import type { RunSummary } from '../../train/types.js';
import { Progress } from '../progress.js';
import { resolveRunConfig } from '../resolve-config.js';
import { addRunFlags, type RunFlagValues } from '../run-flags.js';

/** Demo settings (between DEFAULT_CONFIG and any --config file or flag). */
export const DEMO_DEFAULTS: ConfigInput = { data: 'avdigits', purify: true };
/** --quick: a smoke test of the whole pipeline in a fraction of the time. */
export const QUICK_DEFAULTS: ConfigInput = { ...DEMO_DEFAULTS, epochs: 2, warmup: 1, purify: { epochs: 1 } };

interface DemoFlags extends RunFlagValues {
  quick?: boolean;
  out: string;
  resume: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ mmgap demo
  $ mmgap demo --quick --out runs/demo-quick
  $ mmgap demo --data avdigits:/data/fsdd --epochs 20 --warmup 5 --json

Trains ${ROLES.reference} and ${ROLES.default} (with purification) on avdigits (${epochsLabel(DEFAULT_CONFIG)}, ${DEFAULT_CONFIG.warmup} of warm-up for ${ROLES.default}, unless set),
prints the comparison, and writes <out>/report.html with links to each run's report.
Each run trains in a process of its own (stderr kept in <out>/<method>/train.log); a run that crashes
is listed as failed and the command exits 1. Re-running continues a stopped demo; finished runs are reused.`;

export function registerDemo(program: Command, ctx: CliContext): void {
  const cmd = program.command('demo').description(`${ROLES.reference} vs ${ROLES.default} vs ${ROLES.default} + purification on avdigits: a table and a report`);
  addRunFlags(cmd, { method: false, methodOpt: false })
    .option('--quick', `${QUICK_DEFAULTS.epochs} epochs (${QUICK_DEFAULTS.warmup} warm-up) and 1 purification epoch: checks the pipeline, not the method`)
    .option('--out <dir>', 'demo folder', 'runs/demo')
    .option('--no-resume', 'retrain runs that have a checkpoint (finished runs are still reused)')
    .option('--json', "print each method's test scores and the report path as one JSON line")
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DemoFlags) => {
      const trainer = await ctx.loadTrainer();
      const defaults = flags.quick ? QUICK_DEFAULTS : DEMO_DEFAULTS;
      const reference = resolveRunConfig({ ...flags, method: ROLES.reference }, trainer.methods, { ...defaults, purify: null });
      const own = resolveRunConfig({ ...flags, method: ROLES.default }, trainer.methods, defaults);
      checkDataSpec(own.data);
      const outDir = resolve(flags.out);
      const runs: GridRun[] = [
        { label: ROLES.reference, dir: join(outDir, ROLES.reference), config: { ...reference, purify: null } },
        { label: ROLES.default, dir: join(outDir, ROLES.default), config: own },
      ];
      const base = own;
      await checkGrid(runs, flags.resume);
      const progress = new Progress(ctx.io, flags.json === true);
      const outcomes = await runGrid(ctx.io, runs, { resume: flags.resume, progress, echo: true, resumeHint: `resume with: ${resumeCommand(ctx.argv)}` });
      const finished = outcomes.filter((x) => x.summary !== null);
      const failed = gridFailures(outcomes);
      const entries = finished.flatMap((x) => benchEntries(x.summary as RunSummary, x.run.label, x.run.dir));
      const rows = aggregateBench(entries, { reference: ROLES.reference });
      const files = await writeBenchOutputs(outDir, rows, {
        title: `mmgap demo: ${base.data}, seed ${base.seed}`,
        htmlName: 'report.html',
        reference: ROLES.reference,
        intro: `${epochsLabel(base)} (${base.warmup} warm-up), ${base.encoder} encoders, ${base.fusion} fusion. ` +
          `"${ROLES.default} + purify" is the ${ROLES.default} model fine-tuned on its GMM-balanced samples.`,
        links: finished.map((x) => ({ label: `${x.run.label}: diagnostics report`, href: relative(outDir, join(x.run.dir, 'report.html')) })),
        failed,
      });
      if (failed.length > 0) ctx.exitCode = EXIT.failure;
      const methods = Object.fromEntries(entries.map((e) => [e.label, { acc: e.test.acc, f1: e.test.f1, modality: Object.fromEntries(Object.entries(e.test.modality).map(([m, s]) => [m, s.acc])) }]));
      const reports = Object.fromEntries(finished.map((x) => [x.run.label, join(x.run.dir, 'report.html')]));
      printResult(ctx, flags.json === true, [benchMarkdown(rows, ROLES.reference).trimEnd(), ...failedLines(failed), `report: ${files.html}`], { methods, rows: benchJsonRows(rows), report: files.html, reports, outDir, failed });
    });
}
