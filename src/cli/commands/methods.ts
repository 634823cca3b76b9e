/** `mmgap methods`: the registered training methods, their one-line summaries and options. */
import type { Command } from 'commander';
import { printResult, type CliContext } from '../context.js';

export function registerMethods(program: Command, ctx: CliContext): void {
  program
    .command('methods')
    .description('list the training methods and their options (set with --method-opt key=value)')
    .option('--json', 'print the list as one JSON line')
    .addHelpText('after', '\nExamples:\n  $ mmgap methods\n  $ mmgap methods --json')
    .action(async (flags: { json?: boolean }) => {
      const { methods } = await ctx.loadTrainer();
      const lines = methods.flatMap((m) => [
        `${m.name}: ${m.summary}`,
        // Strings print bare: --method-opt takes them so (values that are not JSON stay strings).
        ...Object.entries(m.defaults).map(([k, v]) => `    --method-opt ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`),
      ]);
      printResult(ctx, flags.json === true, lines, methods.map((m) => ({ name: m.name, summary: m.summary, defaults: m.defaults })));
    });
}
