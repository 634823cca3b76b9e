/** `mmgap report RUN_DIR`: (re)write a run's report.html, e.g. while it trains or after it was copied. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '../../report/write-report.js';
import { printResult, type CliContext } from '../context.js';

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .description("write a run directory's report.html (self-contained: opens offline)")
    .argument('<run-dir>', 'a run directory')
    .option('--json', 'print {"report": PATH} as one JSON line')
    .addHelpText('after', '\nExamples:\n  $ mmgap report runs/avdigits-gmm-adaptive-seed0\n  $ mmgap report runs/demo/gmm-adaptive --json')
    .action(async (dir: string, flags: { json?: boolean }) => {
      const report = await writeReport(resolve(dir));
      printResult(ctx, flags.json === true, [`report: ${report}`], { report });
    });
}
