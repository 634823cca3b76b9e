/** `mmgap eval RUN_DIR`: scores of a run's selected model on a split. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Split } from '../../data/types.js';
import { checkRunDir } from '../../report/run-data.js';
import { printResult, type CliContext } from '../context.js';
import { interruptible } from '../interrupt.js';
import { Progress } from '../progress.js';
import { scoreLine } from '../summary-lines.js';
import { renderTrainEvents } from '../train-events.js';
import { splitOption } from './split-arg.js';

const EXAMPLES = `
Examples:
  $ mmgap eval runs/avdigits-gmm-adaptive-seed0
  $ mmgap eval runs/avdigits-gmm-adaptive-seed0 --split val --json`;

export function registerEval(program: Command, ctx: CliContext): void {
  program
    .command('eval')
    .description("evaluate a trained run's selected model (best validation epoch) on a split")
    .argument('<run-dir>', 'the --out directory of a `mmgap train` run')
    .addOption(splitOption('test'))
    .option('--json', 'print the scores as one JSON line')
    .addHelpText('after', EXAMPLES)
    .action(async (dir: string, flags: { split: Split; json?: boolean }) => {
      const outDir = resolve(dir);
      await checkRunDir(outDir);
      const trainer = await ctx.loadTrainer();
      const progress = new Progress(ctx.io, flags.json === true);
      const r = await interruptible(ctx.io, progress, 'nothing was changed; run it again', (signal) =>
        trainer.evaluateRun(outDir, flags.split, { signal, onEvent: renderTrainEvents(progress) }),
      );
      printResult(ctx, flags.json === true, [scoreLine(`${r.split} (epoch ${r.epoch})`, r.scores)], { outDir, ...r });
    });
}
