/**
 * Purification's choice of training samples (docs/METHOD.md §6): a GMM on the trained model's training
 * gaps gives each sample's imbalance posterior gamma, and the fine-tuning epochs visit
 * - keep 'tau':     the samples with gamma < tau;
 * - keep 'mixture': the lowest-gamma share of the samples that the GMM itself calls balanced
 *                   (the balanced component's mixture weight), no fixed threshold;
 * - keep 'soft':    each epoch a fresh seeded draw keeping sample i with probability 1 - gamma_i
 *                   (a re-weighting in expectation that works with every method's loss).
 * None removes more than the share `maxDrop` (the imbalanced subgroup is a minority; a GMM that
 * calls more of the data imbalanced is more likely wrong than the data, §1 of RESULTS: on clean
 * data a joint model's GMM removed 46-66 % and cost 2.5 points). After fine-tuning, the purified
 * model is kept only when validation says so (purifyDecision).
 * Everything is a pure function of gamma, the settings and the epoch, so a resumed fine-tuning
 * stage draws the same samples.
 */
import { pairedComparison, SeededRandom } from '../core/index.js';
import type { SplitPredictions } from '../methods/method.js';
import type { Diagnostics } from './diagnostics.js';
import { epochSeed } from './session.js';
import type { PurifyConfig } from './types.js';

export interface Selection {
  /** gamma per training-split index. */
  gamma: Float64Array;
  /** Probability that each sample (by training-split index) is visited in a fine-tuning epoch: 0 marks a removed sample. */
  keep: Float64Array;
  /** Samples fine-tuned on (the expected number per epoch under 'soft'). */
  kept: number;
  total: number;
  /** Share of the removed samples (expected, under 'soft') that are flagged corrupted; null without ground truth. */
  removedCorruptedShare: number | null;
}

/** The selection for a finished model's training predictions and their diagnostics. */
export function selectSamples(preds: SplitPredictions, diag: Diagnostics, p: PurifyConfig, truthKnown: boolean): Selection {
  const n = preds.ids.length;
  const gamma = new Float64Array(n);
  const corrupted = new Uint8Array(n);
  preds.index.forEach((row, i) => {
    gamma[row] = diag.gamma[i] as number;
    corrupted[row] = preds.corrupted[i] as number;
  });
  const keepProbability = keepProbabilities(gamma, p, diag.gmm.imbalanced ? (diag.gmm.weights[diag.gmm.balanced] as number) : 1);
  let kept = 0, removed = 0, removedCorrupted = 0;
  keepProbability.forEach((k, i) => {
    kept += k;
    removed += 1 - k;
    if (corrupted[i]) removedCorrupted += 1 - k;
  });
  return { gamma, keep: keepProbability, kept, total: n, removedCorruptedShare: truthKnown && removed > 0 ? removedCorrupted / removed : null };
}

/**
 * Probability that each sample is visited in a fine-tuning epoch (0 or 1 except under 'soft'),
 * removing at most the share `maxDrop` of the samples (in expectation under 'soft').
 */
export function keepProbabilities(gamma: Float64Array, p: PurifyConfig, balancedWeight: number): Float64Array {
  const n = gamma.length;
  const lowest = (count: number): Float64Array => {
    const order = Array.from(gamma.keys()).sort((a, b) => (gamma[a] as number) - (gamma[b] as number) || a - b);
    const out = new Float64Array(n);
    for (const i of order.slice(0, count)) out[i] = 1;
    return out;
  };
  const atLeast = Math.ceil((1 - p.maxDrop) * n - 1e-9);
  switch (p.keep) {
    case 'tau': {
      const kept = gamma.reduce((c, g) => c + (g < p.tau ? 1 : 0), 0);
      return kept >= atLeast ? gamma.map((g) => (g < p.tau ? 1 : 0)) : lowest(atLeast);
    }
    case 'soft': {
      const drop = gamma.reduce((a, g) => a + g, 0);
      // Scaling every gamma by the same factor keeps their order and caps the expected removal.
      const scale = drop > p.maxDrop * n ? (p.maxDrop * n) / drop : 1;
      return gamma.map((g) => 1 - g * scale);
    }
    case 'mixture': return lowest(Math.max(Math.round(balancedWeight * n), atLeast));
  }
}

/** Whether purification's model is kept, and the validation evidence it was decided on. */
export interface PurifyDecision {
  kept: boolean;
  /** Validation accuracy after minus before, and its 95 % paired bootstrap interval. */
  diff: number;
  lo: number;
  hi: number;
  /** Validation samples compared. */
  n: number;
}

/**
 * The keep decision (setting `decide`): with 'validation', the purified model is kept only when
 * the lower bound of the 95 % paired bootstrap interval (10,000 resamples) of its validation
 * accuracy gain over the model before purification exceeds -margin. The fine-tuning epoch was
 * itself chosen on validation, so the gain is optimistic; demanding an interval above 0 (margin
 * 0) pays for that and for purification's measured harm on clean data.
 * @param before,after per validation sample, 1 where that model's prediction is correct
 */
export function purifyDecision(before: Uint8Array, after: Uint8Array, p: PurifyConfig, seed: number): PurifyDecision {
  const c = pairedComparison(after, before, { seed });
  return { kept: p.decide === 'always' || c.lo > -p.margin, diff: c.diff, lo: c.lo, hi: c.hi, n: c.n };
}

/** The training-split indices of fine-tuning epoch `epoch` (run-level). */
export function epochIndices(gamma: Float64Array, p: PurifyConfig, balancedWeight: number, seed: number, epoch: number): Int32Array {
  const prob = keepProbabilities(gamma, p, balancedWeight);
  const out: number[] = [];
  if (p.keep === 'soft') {
    const rng = new SeededRandom(epochSeed(seed, epoch));
    prob.forEach((k, i) => { if (rng.uniform() < k) out.push(i); });
  } else {
    prob.forEach((k, i) => { if (k > 0) out.push(i); });
  }
  return Int32Array.from(out);
}
