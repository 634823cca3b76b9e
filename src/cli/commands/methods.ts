/** `mmgap methods`: the registered training methods with their options (type, range, default, help), all from the methods' own declarations. */
import type { Command } from 'commander';
import { accepts, formatValue, jsonSchemaOf } from '../../settings.js';
import { printResult, type CliContext } from '../context.js';

export function registerMethods(program: Command, ctx: CliContext): void {
  program
    .command('methods')
    .description('list the training methods and their options (set with --method-opt key=value)')
    .option('--json', 'print the list as one JSON line (with each method\'s options as a JSON schema)')
    .addHelpText('after', '\nExamples:\n  $ mmgap methods\n  $ mmgap methods --json')
    .action(async (flags: { json?: boolean }) => {
      const { methods } = await ctx.loadTrainer();
      const lines = methods.flatMap((m) => [
        `${m.name}: ${m.summary}${m.sharedWarmup ? ' (after the shared --warmup epochs)' : ''}`,
        // Strings print bare: --method-opt takes them so (values that are not JSON stay strings).
        ...Object.entries(m.options).map(([k, s]) => `    --method-opt ${k}=${formatValue(s.default)}    ${s.help} (${accepts(s)})`),
      ]);
      printResult(ctx, flags.json === true, lines, methods.map((m) => ({
        name: m.name, summary: m.summary, sharedWarmup: m.sharedWarmup,
        defaults: Object.fromEntries(Object.entries(m.options).map(([k, s]) => [k, s.default])), schema: jsonSchemaOf(m.options),
      })));
    });
}
