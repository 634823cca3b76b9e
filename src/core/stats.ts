/** Descriptive statistics and diagnostics on 1-D arrays: moments, shares, histograms, AUROC. */

import { finiteFloat64, type NumericArray } from './validate.js';

/** Arithmetic mean; NaN for an empty array. */
export function mean(x: NumericArray): number {
  if (x.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  return sum / x.length;
}

/**
 * Variance, two-pass (no cancellation), with `ddof` delta degrees of freedom (0: population,
 * 1: sample). NaN when x.length <= ddof.
 */
export function variance(x: NumericArray, ddof = 0): number {
  if (x.length <= ddof) return NaN;
  const m = mean(x);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - m;
    sum += d * d;
  }
  return sum / (x.length - ddof);
}

/** Standard deviation, sqrt of {@link variance}. */
export function std(x: NumericArray, ddof = 0): number {
  return Math.sqrt(variance(x, ddof));
}

/** Fraction of values strictly above `threshold` (default 0.5, e.g. gamma > 0.5); NaN for an empty array. */
export function shareAbove(x: NumericArray, threshold = 0.5): number {
  if (x.length === 0) return NaN;
  let count = 0;
  for (let i = 0; i < x.length; i++) if (x[i] > threshold) count++;
  return count / x.length;
}

/** Options of {@link histogram}. */
export interface HistogramOptions {
  /** Number of equal-width bins (default 20). */
  bins?: number;
  /** [low, high] covered by the bins (default [-1, 1], the range of a signed Modality Gap). */
  range?: readonly [number, number];
}

/** A fixed-bin histogram; values outside the range are counted, never silently dropped. */
export interface Histogram {
  /** counts[b] = number of values in [edges[b], edges[b+1]); the last bin also holds values equal to high. */
  readonly counts: Uint32Array;
  /** bins + 1 edges, from low to high. */
  readonly edges: Float64Array;
  /** Values below low. */
  readonly below: number;
  /** Values above high. */
  readonly above: number;
}

/** Histogram with equal-width bins (numpy's convention: half-open bins, the last one closed). */
export function histogram(x: NumericArray, options: HistogramOptions = {}): Histogram {
  const bins = options.bins ?? 20;
  const [low, high] = options.range ?? [-1, 1];
  if (!Number.isSafeInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer >= 1, got ${bins}`);
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(low < high)) {
    throw new RangeError(`range must be finite with low < high, got [${low}, ${high}]`);
  }
  const values = finiteFloat64(x, 'x');
  const counts = new Uint32Array(bins);
  const edges = new Float64Array(bins + 1);
  const width = (high - low) / bins;
  for (let b = 0; b <= bins; b++) edges[b] = low + b * width;
  edges[bins] = high;
  let below = 0;
  let above = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < low) below++;
    else if (v > high) above++;
    else {
      let b = Math.min(Math.floor((v - low) / width), bins - 1);
      // Rounding of (v - low) / width can land one bin off next to an edge; the edges decide.
      if (v < edges[b]) b--;
      else if (b + 1 < bins && v >= edges[b + 1]) b++;
      counts[b]++;
    }
  }
  return { counts, edges, below, above };
}

/**
 * Area under the ROC curve of `scores` for the positive class flagged in `labels` (e.g. gamma
 * against ground-truth corruption flags), by the Mann-Whitney statistic: tied scores get their
 * average rank, which counts each tied positive-negative pair as 1/2.
 * @returns a value in [0, 1]; NaN when either class is empty (AUROC is undefined then)
 */
export function auroc(scores: NumericArray, labels: ArrayLike<boolean | number>): number {
  const n = scores.length;
  if (labels.length !== n) {
    throw new RangeError(`scores and labels differ in length: ${n} vs ${labels.length}`);
  }
  const values = finiteFloat64(scores, 'scores');
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    // Ranks start..end-1 (0-based) are tied: each gets the average 1-based rank.
    const averageRank = (start + end + 1) / 2;
    for (let t = start; t < end; t++) {
      if (labels[order[t]]) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
