/** `mmgap diagnose RUN_DIR`: per-sample gaps, the GMM fit and the imbalance posteriors on any split. */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Split } from '../../data/types.js';
import { pct } from '../../report/format.js';
import type { GapRow } from '../../report/gaps-csv.js';
import { checkRunDir } from '../../report/run-data.js';
import { printResult, type CliContext } from '../context.js';
import { interruptible } from '../interrupt.js';
import { Progress } from '../progress.js';
import { renderTrainEvents } from '../train-events.js';
import type { DiagnoseResult } from '../trainer.js';
import { splitOption } from './split-arg.js';

const EXAMPLES = `
Examples:
  $ mmgap diagnose runs/avdigits-gmm-adaptive-seed0
  $ mmgap diagnose runs/avdigits-gmm-adaptive-seed0 --split test --csv test-gaps.csv --json

The CSV has one line per sample: id,label,gap,gamma,dominant,corrupted (as gaps/epoch-N.csv).`;

function toCsv(rows: GapRow[]): string {
  const lines = rows.map((r) => `${r.id},${r.label},${r.gap},${r.gamma},${r.dominant},${r.corrupted ? 1 : 0}`);
  return ['id,label,gap,gamma,dominant,corrupted', ...lines].join('\n') + '\n';
}

function gmmLines(r: DiagnoseResult, csv: string): string[] {
  const g = r.gmm;
  const comps = g.means.map((m, j) => `  ${j === g.balanced ? 'balanced  ' : 'imbalanced'} mean ${m.toFixed(4)}, sd ${Math.sqrt(g.variances[j]).toFixed(4)}, weight ${g.weights[j].toFixed(3)}`);
  return [
    `${r.split}: ${r.samples.length} samples, model of epoch ${r.epoch}, GMM on ${g.on} gaps`,
    ...comps,
    `BIC(1) ${g.bic1.toFixed(1)}, BIC(2) ${g.bic2.toFixed(1)}: ${g.imbalanced ? `imbalanced subgroup of ${pct(g.shareImbalanced)} (gamma > 0.5)` : 'no imbalanced subgroup (gamma = 0)'}`,
    ...(g.auroc === null ? [] : [`AUROC of gamma vs corruption flags: ${g.auroc.toFixed(3)}`]),
    `per-sample gaps and posteriors: ${csv}`,
  ];
}

export function registerDiagnose(program: Command, ctx: CliContext): void {
  program
    .command('diagnose')
    .description("per-sample modality gaps, the 2-component GMM and each sample's imbalance posterior, for a trained run on a split")
    .argument('<run-dir>', 'the --out directory of a `mmgap train` run')
    .addOption(splitOption('train'))
    .option('--csv <file>', 'where to write the per-sample table (default <run-dir>/diagnose-<split>.csv)')
    .option('--json', 'print the GMM fit as one JSON line')
    .addHelpText('after', EXAMPLES)
    .action(async (dir: string, flags: { split: Split; csv?: string; json?: boolean }) => {
      const outDir = resolve(dir);
      await checkRunDir(outDir);
      const trainer = await ctx.loadTrainer();
      const progress = new Progress(ctx.io, flags.json === true);
      const r = await interruptible(ctx.io, progress, 'nothing was changed; run it again', (signal) =>
        trainer.diagnoseRun(outDir, flags.split, { signal, onEvent: renderTrainEvents(progress) }),
      );
      const csv = resolve(flags.csv ?? join(outDir, `diagnose-${flags.split}.csv`));
      await writeFile(csv, toCsv(r.samples));
      printResult(ctx, flags.json === true, gmmLines(r, csv), { outDir, split: r.split, epoch: r.epoch, samples: r.samples.length, gmm: r.gmm, csv });
    });
}
