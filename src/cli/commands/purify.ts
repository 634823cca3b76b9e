/** `mmgap purify RUN_DIR`: fine-tune a finished run on its GMM-balanced subset. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readSummary } from '../../report/run-data.js';
import { writeReport } from '../../report/write-report.js';
import { printResult, type CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { interruptible, resumeCommand } from '../interrupt.js';
import { Progress } from '../progress.js';
import { addPurifyFlags, purifyFlags, type RunFlagValues } from '../run-flags.js';
import { checkRunDir } from '../../report/run-data.js';
import { summaryLines } from '../summary-lines.js';
import { renderTrainEvents } from '../train-events.js';

const EXAMPLES = `
Examples:
  $ mmgap purify runs/avdigits-gmm-adaptive-seed0
  $ mmgap purify runs/avdigits-gmm-adaptive-seed0 --purify-keep soft --purify-epochs 5 --purify-loss method --json

Chooses training samples by their imbalance posterior gamma (--purify-keep), fine-tunes the run's
best model on them at lr x lr-factor, and updates the run's summary.json and report.html. A run
purified before is purified again from its best model (the earlier fine-tuning is replaced).`;

export function registerPurify(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('purify')
    .description('fine-tune a finished run on the GMM-balanced subset of its training data (purification)')
    .argument('<run-dir>', 'the --out directory of a finished `mmgap train` run');
  addPurifyFlags(cmd, false)
    .option('--json', 'print the updated run summary as one JSON line')
    .addHelpText('after', EXAMPLES)
    .action(async (dir: string, flags: RunFlagValues & { json?: boolean }) => {
      const outDir = resolve(dir);
      await checkRunDir(outDir);
      if (!(await readSummary(outDir))) throw new UsageError(`${outDir} has not finished training (no summary.json); finish it with \`mmgap train --out ${dir}\` first`);
      const trainer = await ctx.loadTrainer();
      const progress = new Progress(ctx.io, flags.json === true);
      const hint = `the run is unchanged until purification finishes; run again: ${resumeCommand(ctx.argv)}`;
      const summary = await interruptible(ctx.io, progress, hint, (signal) =>
        trainer.purifyRun(outDir, purifyFlags(flags), { signal, onEvent: renderTrainEvents(progress) }),
      );
      const report = await writeReport(outDir);
      printResult(ctx, flags.json === true, summaryLines(summary, report), { ...summary, report });
    });
}
