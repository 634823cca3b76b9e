/**
 * Per-epoch imbalance diagnostics of the training set, the same for every method and in one fixed
 * space (so a bench column means one thing): the signed gaps d for two modalities (the spread for
 * more), a 2-component GMM on them (by default on the gaps standardised within each true class,
 * RUN_SETTINGS.diagnoseGaps), the share of imbalanced samples and — where the dataset knows which
 * samples were corrupted — the AUROC of gamma against those flags.
 */
import { argmaxRows, auroc, histogram, imbalancePosterior, mean, modalitySpread, sampleGaps, std, shareAbove, type GmmSpace, type ProbabilityMatrix } from '../core/index.js';
import type { SplitPredictions } from '../methods/method.js';
import { RUN_SETTINGS } from './config.js';
import type { EpochMetrics, GmmDiagnostics, RunConfig } from './types.js';

/**
 * What the diagnosis reads of a prediction pass: ids, labels, corruption flags and each
 * modality's probabilities (a model's own pass, or a predictions file written elsewhere), and the
 * fused probabilities where there are any (for the per-sample predicted class).
 */
export type GapInput = Pick<SplitPredictions, 'ids' | 'labels' | 'corrupted' | 'numClasses'> & { unimodal: Record<string, ProbabilityMatrix>; fused?: ProbabilityMatrix };

/** The gaps of a prediction pass (signed d for two modalities, the spread for more). */
export function gapsOf(p: GapInput, modalities: string[]): Float64Array {
  return sampleGaps(modalities.map((m) => {
    const u = p.unimodal[m];
    if (!u) throw new Error(`predictions have no modality "${m}"`);
    return u;
  }), p.labels, p.numClasses);
}

export interface SampleRow {
  id: string; label: number; gap: number; gamma: number; dominant: string; corrupted: number | null;
  /** Predicted class of the fused output (null without fused probabilities) and of each modality's unimodal head. */
  pred: { fused: number | null; modality: Record<string, number> };
}

export interface Diagnostics {
  gap: NonNullable<EpochMetrics['gap']>;
  gmm: GmmDiagnostics;
  /** Posterior of the imbalanced subgroup per prediction row. */
  gamma: Float64Array;
  rows: SampleRow[];
}

/** True when the dataset flags any sample as corrupted: only then is there ground truth to score. */
export function hasGroundTruth(p: GapInput): boolean {
  return p.corrupted.some((c) => c === 1);
}

/**
 * Which gaps the GMM is fitted on: `gmmOn` 'absolute' only where a caller decides on |d|
 * (purification's option); `gaps` 'per-class' standardises them within each sample's true class
 * (the run setting diagnoseGaps, whose default this is).
 */
export interface DiagnosisRule { gmmOn?: GmmSpace; gaps?: RunConfig['diagnoseGaps'] }

/** The diagnostics of one prediction pass. */
export function diagnose(p: GapInput, modalities: string[], seed: number, { gmmOn = 'signed', gaps: space = RUN_SETTINGS.diagnoseGaps.default }: DiagnosisRule = {}): Diagnostics {
  const gaps = gapsOf(p, modalities);
  const post = imbalancePosterior(gaps, { gmmOn, seed, ...(space === 'per-class' && { classLabels: p.labels }) });
  const truthKnown = hasGroundTruth(p);
  const h = histogram(gaps, { bins: 40, range: [-1, 1] });
  const { dominant } = modalitySpread(modalities.map((m) => p.unimodal[m] as ProbabilityMatrix), p.labels, p.numClasses);
  const fused = p.fused ? argmaxRows(p.fused, p.numClasses) : null;
  const unimodal = modalities.map((m) => argmaxRows(p.unimodal[m] as ProbabilityMatrix, p.numClasses));
  const rows: SampleRow[] = p.ids.map((id, i) => ({
    id, label: p.labels[i] as number, gap: gaps[i] as number, gamma: post.gamma[i] as number,
    dominant: modalities[dominant[i] as number] as string, corrupted: truthKnown ? (p.corrupted[i] as number) : null,
    pred: { fused: fused ? (fused[i] as number) : null, modality: Object.fromEntries(modalities.map((m, k) => [m, (unimodal[k] as Int32Array)[i] as number])) },
  }));
  return {
    gap: { mean: mean(gaps), std: std(gaps), hist: { edges: Array.from(h.edges), counts: Array.from(h.counts) } },
    gmm: {
      on: post.gmmOn,
      perClass: space === 'per-class',
      means: Array.from(post.gmm.means),
      variances: Array.from(post.gmm.variances),
      weights: Array.from(post.gmm.weights),
      balanced: post.balancedComponent,
      bic1: post.bic1,
      bic2: post.bic2,
      imbalanced: post.imbalanceDetected,
      shareImbalanced: shareAbove(post.gamma, 0.5),
      auroc: truthKnown ? auroc(post.gamma, p.corrupted) : null,
    },
    gamma: post.gamma,
    rows,
  };
}

/**
 * The CSV of gaps/epoch-N.csv: id,label,gap,gamma,dominant,corrupted,pred,pred_<modality>...
 * (the predicted classes come last, so a reader of the first six columns reads it unchanged).
 * `keep`: purification's keep probability per row, a last column (gaps/purification.csv).
 */
export function rowsToCsv(rows: SampleRow[], keep?: ArrayLike<number>): string {
  const esc = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const modalities = Object.keys(rows[0]?.pred.modality ?? {});
  const lines = [['id,label,gap,gamma,dominant,corrupted,pred', ...modalities.map((m) => esc(`pred_${m}`)), ...(keep ? ['keep'] : [])].join(',')];
  rows.forEach((r, i) => {
    const preds = [r.pred.fused ?? '', ...modalities.map((m) => r.pred.modality[m])].join(',');
    lines.push(`${esc(r.id)},${r.label},${r.gap.toFixed(6)},${r.gamma.toFixed(6)},${esc(r.dominant)},${r.corrupted ?? ''},${preds}${keep ? `,${(keep[i] as number).toFixed(6)}` : ''}`);
  });
  return lines.join('\n') + '\n';
}
