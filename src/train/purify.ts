/**
 * Purification's choice of training samples (docs/METHOD.md §6): a GMM on the trained model's training
 * gaps gives each sample's imbalance posterior gamma, and the fine-tuning epochs visit
 * - keep 'tau':     the samples with gamma < tau;
 * - keep 'mixture': the lowest-gamma share of the samples that the GMM itself calls balanced
 *                   (the balanced component's mixture weight), no fixed threshold;
 * - keep 'soft':    each epoch a fresh seeded draw keeping sample i with probability 1 - gamma_i
 *                   (a re-weighting in expectation that works with every method's loss).
 * Everything is a pure function of gamma, the settings and the epoch, so a resumed fine-tuning
 * stage draws the same samples.
 */
import { SeededRandom } from '../core/index.js';
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

/** Probability that each sample is visited in a fine-tuning epoch (0 or 1 except under 'soft'). */
export function keepProbabilities(gamma: Float64Array, p: PurifyConfig, balancedWeight: number): Float64Array {
  switch (p.keep) {
    case 'tau': return gamma.map((g) => (g < p.tau ? 1 : 0));
    case 'soft': return gamma.map((g) => 1 - g);
    case 'mixture': {
      const count = Math.round(balancedWeight * gamma.length);
      const order = Array.from(gamma.keys()).sort((a, b) => (gamma[a] as number) - (gamma[b] as number) || a - b);
      const out = new Float64Array(gamma.length);
      for (const i of order.slice(0, count)) out[i] = 1;
      return out;
    }
  }
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
