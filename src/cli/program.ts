/** The `mmgap` command tree. */
import { Command } from 'commander';
import type { CliContext } from './context.js';
import { registerBench } from './commands/bench.js';
import { registerData } from './commands/data.js';
import { registerDemo } from './commands/demo.js';
import { registerDiagnose } from './commands/diagnose.js';
import { registerEval } from './commands/eval.js';
import { registerMethods } from './commands/methods.js';
import { registerPurify } from './commands/purify.js';
import { registerReport } from './commands/report.js';
import { registerTrain } from './commands/train.js';
import { packageVersion } from '../package.js';

const EXAMPLES = `
Examples:
  $ mmgap demo                       joint vs gmm-adaptive vs gmm-adaptive + purification on avdigits
  $ mmgap train --data avdigits --method gmm-adaptive --epochs 2 --warmup 1 --seed 0 --out runs/try --json
  $ mmgap diagnose runs/try --split train
  $ mmgap bench --methods joint,gmm-adaptive --seeds 0,1,2 --out runs/bench
  $ mmgap data inspect --data cremad:/data/CREMA-D

Every command has --help with its own examples. Exit codes: 0 done, 1 failed, 2 bad input, 130 stopped by Ctrl-C.`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('mmgap')
    .description('Find and fix modality imbalance in audio-visual classifiers, sample by sample.')
    .version(packageVersion())
    .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) })
    .showSuggestionAfterError(true)
    .addHelpText('after', EXAMPLES);
  registerDemo(program, ctx);
  registerTrain(program, ctx);
  registerEval(program, ctx);
  registerDiagnose(program, ctx);
  registerPurify(program, ctx);
  registerBench(program, ctx);
  registerData(program, ctx);
  registerReport(program, ctx);
  registerMethods(program, ctx);
  return program;
}
