/**
 * Paired comparisons of two classifiers scored on the same test samples: accuracy difference with
 * a (cluster) paired-bootstrap percentile interval, and McNemar's exact test on the discordant pairs.
 */

import type { LabelArray } from './gap.js';
import { SeededRandom } from './prng.js';
import { checkInteger } from './validate.js';

const LN2 = Math.LN2;
const LN_2PI = 1.8378770664093456;

/** stirlerr(n) = ln(n!) - ln(sqrt(2 pi n) (n/e)^n) for n = 0..15 (entry 0 unused), from 50-digit arithmetic. */
const STIRLERR_SMALL = [
  0, 0.08106146679532726, 0.0413406959554093, 0.02767792568499834,
  0.020790672103765093, 0.016644691189821193, 0.013876128823070748,
  0.01189670994589177, 0.010411265261972096, 0.009255462182712733,
  0.00833056343336287, 0.007573675487951841, 0.00694284010720953,
  0.006408994188004207, 0.0059513701127588475, 0.005554733551962801,
];

/** The error of Stirling's formula for ln(n!), integer n >= 1 (Loader 2000, as in R's nmath). */
function stirlerr(n: number): number {
  if (n <= 15) return STIRLERR_SMALL[n] as number;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** bd0(x, m) = x ln(x/m) + m - x without cancellation when x is close to m (Loader 2000). */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    let s = (x - m) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / m) + m - x;
}

/**
 * ln P[Binom(n, 1/2) = k] for 0 < k < n by Loader's saddle-point expansion: accurate to a few ulps
 * of the density for any n, where ln C(n, k) - n ln 2 from log-factorials would cancel millions.
 */
function logBinomHalfPmf(k: number, n: number): number {
  const half = n / 2;
  const lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, half) - bd0(n - k, half);
  const lf = LN_2PI + Math.log(k) + Math.log1p(-k / n);
  return lc - 0.5 * lf;
}

/**
 * McNemar's exact test: the two-sided binomial p-value of the discordant counts, with b = #(A right,
 * B wrong) and c = #(A wrong, B right); under "A and B are equally accurate" each discordant pair is
 * a fair coin. p = min(1, 2 P[Binom(b + c, 1/2) <= min(b, c)]), 1 when b + c = 0 (scipy's
 * binomtest(min(b, c), b + c).pvalue). The tail is summed in log space from its largest term, so it
 * neither overflows nor underflows for b + c in the millions; it is 0 only below the smallest double.
 */
export function mcnemarExact(b: number, c: number): number {
  checkInteger(b, 'b', 0);
  checkInteger(c, 'c', 0);
  const n = b + c;
  const m = Math.min(b, c);
  // m >= (n - 1) / 2 puts at least half the mass in the tail: p = 1 exactly.
  if (2 * m + 1 >= n) return 1;
  if (m === 0) return Math.pow(2, 1 - n); // 2 * 2^-n, exact down to the smallest subnormal
  // Sum P[X = j] / P[X = m] for j = m, m-1, ...; the ratios j / (n - j + 1) shrink with j, so the
  // remainder after a term t with ratio r is below t r / (1 - r): stop once that is negligible.
  let sum = 1;
  let term = 1;
  for (let j = m; j > 0; j--) {
    const ratio = j / (n - j + 1);
    term *= ratio;
    sum += term;
    if (term * ratio < 1e-17 * (1 - ratio) * sum) break;
  }
  const logP = LN2 + logBinomHalfPmf(m, n) + Math.log(sum);
  return Math.min(1, Math.exp(logP));
}

/** Options of {@link pairedComparison}. */
export interface PairedComparisonOptions {
  /**
   * Cluster id of each row (length n): rows with the same id are resampled together, e.g. one test
   * sample's rows under several seeds. Default: every row its own cluster.
   */
  clusters?: Int32Array;
  /** Number of bootstrap resamples (default 10,000). */
  resamples?: number;
  /** Coverage of the percentile interval, in (0, 1) (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 0); equal seeds give equal intervals. */
  seed?: number;
}

/** Result of {@link pairedComparison}; accuracies and differences are fractions, not %. */
export interface PairedComparison {
  /** Number of rows. */
  readonly n: number;
  /** Number of distinct clusters (n without `clusters`). */
  readonly clusterCount: number;
  /** Accuracy of A (fraction of rows with correctA = 1). */
  readonly accA: number;
  /** Accuracy of B. */
  readonly accB: number;
  /** accA - accB. */
  readonly diff: number;
  /** Lower end of the percentile interval of the paired (cluster) bootstrap of diff at `level`. */
  readonly lo: number;
  /** Upper end of that interval. */
  readonly hi: number;
  /** #(A right, B wrong): McNemar's b. */
  readonly discordantAB: number;
  /** #(A wrong, B right): McNemar's c. */
  readonly discordantBA: number;
  /** McNemar's exact two-sided p-value ({@link mcnemarExact}) of the discordant counts. */
  readonly mcnemarP: number;
}

/** Throws unless every value is 0 or 1, naming the first bad index. */
function checkBinary(values: Uint8Array, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] > 1) throw new RangeError(`${name}[${i}] is ${values[i]}; expected 0 or 1`);
  }
}

/** Linear-interpolation quantile of sorted values (numpy's default), q in [0, 1]. */
function sortedQuantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const frac = pos - lo;
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return frac === 0 || a === b ? a : a + frac * (b - a);
}

/**
 * Compares classifiers A and B on the same test rows (row r of A and of B: the same sample under the
 * same seed/fold; 1 = predicted correctly). The interval comes from a paired bootstrap: clusters are
 * resampled with replacement and the same draw serves A and B, so the sample-to-sample correlation
 * of A and B (which is what makes paired comparisons sharp) is kept. Rows sharing a cluster id move
 * together, so several seeds on one test set are not counted as independent samples. The bootstrap
 * statistic is sum(a - b) / rows over the drawn clusters; its cost is O(resamples x clusters).
 */
export function pairedComparison(
  correctA: Uint8Array,
  correctB: Uint8Array,
  options: PairedComparisonOptions = {},
): PairedComparison {
  const n = correctA.length;
  if (correctB.length !== n) {
    throw new RangeError(`correctA and correctB differ in length: ${n} vs ${correctB.length}`);
  }
  if (n === 0) throw new RangeError('correctA and correctB are empty; need at least one row');
  checkBinary(correctA, 'correctA');
  checkBinary(correctB, 'correctB');
  const resamples = options.resamples ?? 10_000;
  checkInteger(resamples, 'resamples', 1);
  const level = options.level ?? 0.95;
  if (typeof level !== 'number' || !(level > 0 && level < 1)) {
    throw new RangeError(`level must be a number in (0, 1), got ${String(level)}`);
  }
  const rng = new SeededRandom(options.seed ?? 0);
  const clusters = options.clusters;
  if (clusters !== undefined && clusters.length !== n) {
    throw new RangeError(`clusters has length ${clusters.length}; expected one id per row (${n})`);
  }

  // Per-row counts, and per-cluster sums of (a - b) and row counts (clusters numbered densely in
  // order of first appearance).
  let rightA = 0;
  let rightB = 0;
  let discordantAB = 0;
  let discordantBA = 0;
  const clusterOf = new Int32Array(n);
  let clusterCount = 0;
  if (clusters === undefined) {
    for (let i = 0; i < n; i++) clusterOf[i] = i;
    clusterCount = n;
  } else {
    const dense = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const id = clusters[i] as number;
      let k = dense.get(id);
      if (k === undefined) {
        k = clusterCount++;
        dense.set(id, k);
      }
      clusterOf[i] = k;
    }
  }
  const clusterDiff = new Float64Array(clusterCount);
  const clusterRows = new Float64Array(clusterCount);
  for (let i = 0; i < n; i++) {
    const a = correctA[i] as number;
    const b = correctB[i] as number;
    rightA += a;
    rightB += b;
    if (a > b) discordantAB++;
    else if (b > a) discordantBA++;
    const k = clusterOf[i] as number;
    clusterDiff[k] += a - b;
    clusterRows[k] += 1;
  }
  const accA = rightA / n;
  const accB = rightB / n;

  const stats = bootstrapRatios(clusterDiff, clusterRows, resamples, rng);
  stats.sort();
  const alpha = 1 - level;
  return {
    n,
    clusterCount,
    accA,
    accB,
    diff: accA - accB,
    lo: sortedQuantile(stats, alpha / 2),
    hi: sortedQuantile(stats, 1 - alpha / 2),
    discordantAB,
    discordantBA,
    mcnemarP: mcnemarExact(discordantAB, discordantBA),
  };
}

const TWO_POW_32 = 4294967296;

/**
 * `resamples` draws of sum(num[k]) / sum(den[k]) over K = num.length clusters drawn uniformly with
 * replacement. Indices come from one 32-bit word each by Lemire's multiply-and-reject (exactly
 * uniform) while u K stays below 2^53; beyond that, from SeededRandom.uniformInt.
 */
function bootstrapRatios(num: Float64Array, den: Float64Array, resamples: number, rng: SeededRandom): Float64Array {
  const K = num.length;
  const out = new Float64Array(resamples);
  const constantDen = den.every((d) => d === den[0]);
  const totalRows = K * (den[0] as number);
  if (K <= 1 << 21) {
    // Reject the low words below 2^32 mod K so each index has exactly floor(2^32 / K) preimages.
    const threshold = (TWO_POW_32 - K) % K;
    for (let r = 0; r < resamples; r++) {
      let sNum = 0;
      let sDen = 0;
      for (let i = 0; i < K; i++) {
        let prod = rng.nextUint32() * K;
        let k = Math.floor(prod / TWO_POW_32);
        while (prod - k * TWO_POW_32 < threshold) {
          prod = rng.nextUint32() * K;
          k = Math.floor(prod / TWO_POW_32);
        }
        sNum += num[k] as number;
        if (!constantDen) sDen += den[k] as number;
      }
      out[r] = sNum / (constantDen ? totalRows : sDen);
    }
  } else {
    for (let r = 0; r < resamples; r++) {
      let sNum = 0;
      let sDen = 0;
      for (let i = 0; i < K; i++) {
        const k = rng.uniformInt(K);
        sNum += num[k] as number;
        sDen += den[k] as number;
      }
      out[r] = sNum / sDen;
    }
  }
  return out;
}

/** Per-row correctness (1 where predicted[i] === labels[i]) for {@link pairedComparison}. */
export function correctnessOf(labels: LabelArray, predicted: LabelArray): Uint8Array {
  if (labels.length !== predicted.length) {
    throw new RangeError(`labels and predicted differ in length: ${labels.length} vs ${predicted.length}`);
  }
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i] === predicted[i] ? 1 : 0;
  return out;
}
