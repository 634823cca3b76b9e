/**
 * `mmgap diagnose RUN_DIR`: per-sample gaps, the GMM fit and the imbalance posteriors on any split
 * of a trained run. `mmgap diagnose --predictions FILE --out DIR`: the same diagnosis of the
 * per-modality outputs of a model trained anywhere, with no training and no libtorch.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { DataError } from '../../data/errors.js';
import type { Split } from '../../data/types.js';
import { diagnosePredictionsFile, type PredictionsSummary } from '../../diagnose/diagnose-predictions.js';
import { PREDICTIONS_SETTINGS, PROBABILITY_SUM_TOLERANCE, type PredictionsOptions } from '../../diagnose/predictions.js';
import { pct } from '../../report/format.js';
import type { GapRow } from '../../report/gaps-csv.js';
import { checkRunDir } from '../../report/run-data.js';
import { resolveSettings, SettingError, type Setting } from '../../settings.js';
import type { GmmDiagnostics } from '../../train/types.js';
import { printResult, type CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { interruptible } from '../interrupt.js';
import { Progress } from '../progress.js';
import { flagOf, option } from '../run-flags.js';
import { renderTrainEvents } from '../train-events.js';
import { splitOption } from './split-arg.js';

const PREDICTIONS_GROUP = 'Predictions of a model trained elsewhere (--predictions):';

const EXAMPLES = `
Examples:
  $ mmgap diagnose runs/avdigits-gmm-adaptive-seed0
  $ mmgap diagnose runs/avdigits-gmm-adaptive-seed0 --split test --csv test-gaps.csv --json
  $ mmgap diagnose --predictions preds.npz --out diag/
  $ mmgap diagnose --predictions preds.csv --out diag/ --scores logits --gmm-on absolute --json

The CSV of a run has one line per sample: id,label,gap,gamma,dominant,corrupted,... (as gaps/epoch-N.csv).

--predictions reads an .npz (np.savez or np.savez_compressed) with
  labels     [N] integer classes 0..K-1
  ids        [N] strings or integers (optional; default: the row number)
  corrupted  [N] 0/1 or bool, ground truth for the AUROC (optional)
  <modality> [N, K] scores of each modality's unimodal head, one array per modality (2 or more),
             named after it; for two, the gap is first minus second in the order saved
or a .csv with the header id,label[,corrupted],<modality>:0,...,<modality>:K-1 for each modality.
Scores are probabilities or logits (--scores auto: a modality whose rows are non-negative and sum to
1 within ${PROBABILITY_SUM_TOLERANCE} is read as probabilities). Writing one from PyTorch:

  import numpy as np, torch
  outs, ys = [], []
  with torch.no_grad():   # model(batch) -> {'audio': logits [B, K], 'visual': logits [B, K]}, one per unimodal head
      for batch, y in loader: outs.append(model(batch)); ys.append(y)
  np.savez('preds.npz', labels=torch.cat(ys).numpy(), **{m: torch.cat([o[m] for o in outs]).softmax(1).numpy() for m in outs[0]})

DIR receives report.html, gaps.csv (the columns of a run's gaps/epoch-N.csv) and diagnosis.json.`;

function toCsv(rows: GapRow[]): string {
  const lines = rows.map((r) => `${r.id},${r.label},${r.gap},${r.gamma},${r.dominant},${r.corrupted ? 1 : 0}`);
  return ['id,label,gap,gamma,dominant,corrupted', ...lines].join('\n') + '\n';
}

function gmmLines(head: string, g: GmmDiagnostics, files: string[]): string[] {
  const comps = g.means.map((m, j) => `  ${j === g.balanced ? 'balanced  ' : 'imbalanced'} mean ${m.toFixed(4)}, sd ${Math.sqrt(g.variances[j]).toFixed(4)}, weight ${g.weights[j].toFixed(3)}`);
  return [
    `${head}, GMM on ${g.perClass ? 'per-class standardised ' : ''}${g.on} gaps`,
    ...comps,
    `BIC(1) ${g.bic1.toFixed(1)}, BIC(2) ${g.bic2.toFixed(1)}: ${g.imbalanced ? `imbalanced subgroup of ${pct(g.shareImbalanced)} (gamma > 0.5)` : 'no imbalanced subgroup (gamma = 0)'}`,
    ...(g.auroc === null ? [] : [`AUROC of gamma vs corruption flags: ${g.auroc.toFixed(3)}`]),
    ...files,
  ];
}

interface DiagnoseFlags {
  split: Split;
  csv?: string;
  json?: boolean;
  predictions?: string;
  out?: string;
  scores?: unknown;
  gmmOn?: unknown;
  diagnoseGaps?: unknown;
  seed?: unknown;
}

/** The predictions options the flags give, validated by their declarations. */
function predictionsOptions(flags: DiagnoseFlags): PredictionsOptions {
  try {
    return resolveSettings('diagnose --predictions', PREDICTIONS_SETTINGS, { scores: flags.scores, gmmOn: flags.gmmOn, diagnoseGaps: flags.diagnoseGaps, seed: flags.seed }, 'setting');
  } catch (e) {
    if (e instanceof SettingError && e.key) throw new UsageError(`${e.message}; change ${flagOf(e.key)}`);
    throw e;
  }
}

/** Refuses flag combinations of the two forms: exactly one of RUN_DIR and --predictions, each with its own flags. */
function checkForm(dir: string | undefined, flags: DiagnoseFlags, cmd: Command): void {
  if (dir !== undefined && flags.predictions !== undefined) {
    throw new UsageError(`give a run directory or --predictions, not both (got ${dir} and --predictions ${flags.predictions})`);
  }
  if (dir === undefined && flags.predictions === undefined) {
    throw new UsageError('nothing to diagnose: give a run directory (mmgap diagnose RUN_DIR) or a predictions file (mmgap diagnose --predictions FILE --out DIR)');
  }
  const predictionsOnly = ['out', ...Object.keys(PREDICTIONS_SETTINGS)].filter((k) => flags[k as keyof DiagnoseFlags] !== undefined);
  if (dir !== undefined && predictionsOnly.length > 0) {
    throw new UsageError(`${predictionsOnly.map(flagOf).join(', ')} ${predictionsOnly.length === 1 ? 'applies' : 'apply'} only to --predictions; a run is diagnosed with its own settings`);
  }
  if (flags.predictions !== undefined) {
    const runOnly = [...(flags.csv !== undefined ? ['--csv'] : []), ...(cmd.getOptionValueSource('split') === 'default' ? [] : ['--split'])];
    if (runOnly.length > 0) throw new UsageError(`${runOnly.join(', ')} ${runOnly.length === 1 ? 'applies' : 'apply'} only to a run directory; with --predictions the outputs go to --out DIR`);
    if (flags.out === undefined) throw new UsageError('--predictions needs --out DIR, where report.html, gaps.csv and diagnosis.json are written');
  }
}

async function diagnosePredictions(ctx: CliContext, file: string, outDir: string, flags: DiagnoseFlags): Promise<void> {
  let summary: PredictionsSummary;
  try {
    summary = await diagnosePredictionsFile(file, predictionsOptions(flags), outDir);
  } catch (e) {
    // Bad input names the file and the fix: exit 2, one line.
    if (e instanceof DataError) throw new UsageError(e.message);
    throw e;
  }
  const kinds = summary.modalities.map((m) => `${m} (${summary.scores[m] === 'probs' ? 'probabilities' : 'logits'})`).join(', ');
  const { imbalancedIds, ...line } = summary;
  printResult(ctx, flags.json === true, gmmLines(`${summary.predictions}: ${summary.samples} samples, ${summary.numClasses} classes, ${kinds}`, summary.gmm, [
    `report: ${summary.files.report}`,
    `per-sample gaps and posteriors: ${summary.files.gaps}`,
    `diagnosis (with the ${imbalancedIds.length} imbalanced ids): ${summary.files.diagnosis}`,
  ]), { ...line, imbalanced: imbalancedIds.length });
}

export function registerDiagnose(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('diagnose')
    .description("per-sample modality gaps, the 2-component GMM and each sample's imbalance posterior: of a trained run on a split, or of a predictions file from a model trained anywhere")
    .argument('[run-dir]', 'the --out directory of a `mmgap train` run (or use --predictions)')
    .addOption(splitOption('train'))
    .option('--csv <file>', 'where to write the per-sample table (default <run-dir>/diagnose-<split>.csv)')
    .option('--json', 'print the result as one JSON line');
  cmd.addOption(new Option('--predictions <file>', 'an .npz or .csv of per-modality scores (format below); no training, no libtorch').helpGroup(PREDICTIONS_GROUP));
  cmd.addOption(new Option('--out <dir>', 'with --predictions: where report.html, gaps.csv and diagnosis.json go').helpGroup(PREDICTIONS_GROUP));
  for (const [k, s] of Object.entries(PREDICTIONS_SETTINGS) as [string, Setting][]) cmd.addOption(option(flagOf(k), s, PREDICTIONS_GROUP));
  cmd
    .addHelpText('after', EXAMPLES)
    .action(async (dir: string | undefined, flags: DiagnoseFlags, self: Command) => {
      checkForm(dir, flags, self);
      if (flags.predictions !== undefined) return diagnosePredictions(ctx, flags.predictions, flags.out as string, flags);
      const outDir = resolve(dir as string);
      await checkRunDir(outDir);
      const trainer = await ctx.loadTrainer();
      const progress = new Progress(ctx.io, flags.json === true);
      const r = await interruptible(ctx.io, progress, 'nothing was changed; run it again', (signal) =>
        trainer.diagnoseRun(outDir, flags.split, { signal, onEvent: renderTrainEvents(progress) }),
      );
      const csv = resolve(flags.csv ?? join(outDir, `diagnose-${flags.split}.csv`));
      await writeFile(csv, toCsv(r.samples));
      printResult(ctx, flags.json === true, gmmLines(`${r.split}: ${r.samples.length} samples, model of epoch ${r.epoch}`, r.gmm, [`per-sample gaps and posteriors: ${csv}`]),
        { outDir, split: r.split, epoch: r.epoch, samples: r.samples.length, gmm: r.gmm, csv });
    });
}
