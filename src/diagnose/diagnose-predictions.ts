/**
 * `mmgap diagnose --predictions`: the run diagnosis (src/train/diagnostics.ts: gaps, GMM with
 * the BIC guard, posteriors, AUROC) on a predictions file, written as report.html, gaps.csv
 * (the columns of a run's gaps/epoch-N.csv) and diagnosis.json.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { accuracy } from '../core/index.js';
import { DataError } from '../data/errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { renderPredictionsReport } from '../report/predictions-report.js';
import { diagnose, rowsToCsv, type Diagnostics } from '../train/diagnostics.js';
import type { GmmDiagnostics } from '../train/types.js';
import { readPredictions, type Predictions, type PredictionsOptions, type ScoreKind } from './predictions.js';

/** A predictions file and its diagnosis. */
export interface PredictionsDiagnosis {
  predictions: Predictions;
  options: PredictionsOptions;
  diagnostics: Diagnostics;
  /** Per modality: the share of samples whose top class is the label. */
  accuracy: Record<string, number>;
}

/** Runs the diagnosis; refuses gaps that are all equal (in the space the GMM fits), where no mixture can be told apart. */
export function diagnosePredictions(p: Predictions, options: PredictionsOptions): PredictionsDiagnosis {
  const diagnostics = diagnose(p, p.modalities, options.seed, { gmmOn: options.gmmOn, gaps: options.diagnoseGaps });
  const fitted = (gap: number): number => (options.gmmOn === 'absolute' ? Math.abs(gap) : gap);
  const first = fitted(diagnostics.rows[0].gap);
  if (diagnostics.rows.every((r) => fitted(r.gap) === first)) {
    throw new DataError(
      p.file,
      `every sample has the same ${options.gmmOn === 'absolute' ? '|gap|' : 'gap'} (${first}), so there is no distribution for the GMM to fit; ` +
        'check that each modality array holds that modality\'s own outputs (not a copy of another\'s)',
    );
  }
  const predicted = (m: string): Int32Array => Int32Array.from(diagnostics.rows, (r) => r.pred.modality[m]);
  return {
    predictions: p,
    options,
    diagnostics,
    accuracy: Object.fromEntries(p.modalities.map((m) => [m, accuracy(p.labels, predicted(m))])),
  };
}

/** What diagnosis.json holds (and, without the subgroup's ids, the --json line). */
export interface PredictionsSummary {
  predictions: string;
  samples: number;
  numClasses: number;
  modalities: string[];
  scores: Record<string, ScoreKind>;
  gmmOn: PredictionsOptions['gmmOn'];
  seed: number;
  accuracy: Record<string, number>;
  gap: Diagnostics['gap'];
  gmm: GmmDiagnostics;
  /** Samples with gamma > 0.5, highest gamma first (empty when the BIC guard finds no subgroup). */
  imbalancedIds: string[];
  files: { report: string; gaps: string; diagnosis: string };
}

export function summaryOf(d: PredictionsDiagnosis, files: PredictionsSummary['files']): PredictionsSummary {
  const p = d.predictions;
  const imbalanced = d.diagnostics.rows.filter((r) => r.gamma > 0.5).sort((a, b) => b.gamma - a.gamma);
  return {
    predictions: resolve(p.file),
    samples: p.labels.length,
    numClasses: p.numClasses,
    modalities: p.modalities,
    scores: p.scores,
    gmmOn: d.options.gmmOn,
    seed: d.options.seed,
    accuracy: d.accuracy,
    gap: d.diagnostics.gap,
    gmm: d.diagnostics.gmm,
    imbalancedIds: imbalanced.map((r) => r.id),
    files,
  };
}

/**
 * Reads `file`, diagnoses it and writes report.html, gaps.csv and diagnosis.json into `outDir`
 * (each through a temporary file and a rename). Nothing is written when the input is refused.
 */
export async function diagnosePredictionsFile(file: string, options: PredictionsOptions, outDir: string): Promise<PredictionsSummary> {
  const d = diagnosePredictions(await readPredictions(file, options.scores), options);
  const dir = resolve(outDir);
  const files = { report: join(dir, 'report.html'), gaps: join(dir, 'gaps.csv'), diagnosis: join(dir, 'diagnosis.json') };
  const summary = summaryOf(d, files);
  const html = await renderPredictionsReport(d);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(files.gaps, rowsToCsv(d.diagnostics.rows));
  await writeFileAtomic(files.diagnosis, JSON.stringify(summary, null, 2) + '\n');
  await writeFileAtomic(files.report, html);
  return summary;
}
