/**
 * k-means in one dimension, used to start EM the way scikit-learn does by default: k-means++
 * seeding, Lloyd iterations, then one M step on the hard partition.
 *
 * Speed: the data are sorted once per fit and shared by every initialisation. In sorted 1-D
 * data every cluster is a contiguous run between midpoints of the sorted centres, so a Lloyd
 * iteration is k binary searches plus prefix-sum look-ups instead of a pass over the data.
 * (The GMM passes a sample of at most 65,536 values for large inputs; see gmm.ts.)
 */

import { type EmWorkspace, mStep } from './gmm-em.js';
import type { MixtureParams } from './mixture.js';
import type { SeededRandom } from './prng.js';

/** scikit-learn's KMeans defaults: iteration cap, and tolerance on the squared centre shift relative to the data variance. */
const LLOYD_MAX_ITERATIONS = 300;
const LLOYD_RELATIVE_TOLERANCE = 1e-4;

/** Starts EM runs from k-means partitions of the data (sorted once). */
export class KMeansInitializer {
  /** The data, sorted ascending. */
  private readonly sorted: Float64Array;
  /** prefix[i] = sum of (sorted[t] - shift) for t < i; the shift keeps the sums small. */
  private readonly prefix: Float64Array;
  private readonly shift: number;
  /** Scratch: squared distance of each value to its nearest centre (k-means++). */
  private readonly closest: Float64Array;
  /** Lloyd stops when the summed squared centre shift is at most this. */
  private readonly tolerance: number;

  constructor(x: Float64Array) {
    this.sorted = Float64Array.from(x).sort();
    const m = this.sorted.length;
    this.shift = this.sorted[m >> 1];
    this.prefix = new Float64Array(m + 1);
    for (let i = 0; i < m; i++) this.prefix[i + 1] = this.prefix[i] + (this.sorted[i] - this.shift);
    this.closest = new Float64Array(m);
    const mean = this.segmentMean(0, m);
    let squares = 0;
    for (let i = 0; i < m; i++) squares += (this.sorted[i] - mean) ** 2;
    this.tolerance = (LLOYD_RELATIVE_TOLERANCE * squares) / m;
  }

  /**
   * Initial mixture parameters for one EM run: k-means++ seeds drawn from `rng`, Lloyd
   * iterations, then an M step with 0/1 responsibilities. The parameters depend only on the
   * final partition, so equal partitions give bitwise-equal parameters.
   */
  initialParams(k: number, rng: SeededRandom, regCovar: number, work: EmWorkspace): MixtureParams {
    const centres = kmeansPlusPlusCentres(this.sorted, k, rng, this.closest).sort();
    const starts = this.lloyd(centres);
    return this.partitionParams(starts, centres, regCovar, work);
  }

  /**
   * Lloyd iterations with scikit-learn's stopping rule: the partition did not change, or the
   * summed squared centre shift is at most 1e-4 times the data variance (then the partition is
   * re-assigned to the final centres). The centres are updated in place and stay sorted: an empty
   * run keeps its centre, which lies inside it.
   * @returns starts: cluster j is sorted[starts[j] .. starts[j + 1]); starts has k + 1 entries
   */
  private lloyd(centres: Float64Array): Int32Array {
    const k = centres.length;
    const starts = new Int32Array(k + 1);
    const previous = new Int32Array(k + 1).fill(-1);
    for (let iteration = 0; iteration < LLOYD_MAX_ITERATIONS; iteration++) {
      this.assign(centres, starts);
      if (starts.every((s, j) => s === previous[j])) return starts;
      previous.set(starts);
      let shift = 0;
      for (let j = 0; j < k; j++) {
        if (starts[j + 1] === starts[j]) continue;
        const mean = this.segmentMean(starts[j], starts[j + 1]);
        shift += (mean - centres[j]) ** 2;
        centres[j] = mean;
      }
      if (shift <= this.tolerance) break;
    }
    this.assign(centres, starts);
    return starts;
  }

  /** Partition of the sorted data by nearest centre (centres sorted). */
  private assign(centres: Float64Array, starts: Int32Array): void {
    const k = centres.length;
    starts[0] = 0;
    for (let j = 1; j < k; j++) starts[j] = this.countAtMost(0.5 * (centres[j - 1] + centres[j]));
    starts[k] = this.sorted.length;
  }

  /** Mean of sorted[from .. to), to > from, from the prefix sums. */
  private segmentMean(from: number, to: number): number {
    return this.shift + (this.prefix[to] - this.prefix[from]) / (to - from);
  }

  /** Number of values <= bound (binary search). */
  private countAtMost(bound: number): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.sorted[mid] <= bound) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * Weights, means and variances of the partition (an M step with hard responsibilities); an
   * empty cluster keeps its centre as mean.
   */
  private partitionParams(
    starts: Int32Array,
    centres: Float64Array,
    regCovar: number,
    work: EmWorkspace,
  ): MixtureParams {
    const k = centres.length;
    const means = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      const empty = starts[j + 1] === starts[j];
      means[j] = empty ? centres[j] : this.segmentMean(starts[j], starts[j + 1]);
      let second = 0;
      for (let i = starts[j]; i < starts[j + 1]; i++) second += (this.sorted[i] - means[j]) ** 2;
      work.mass[j] = starts[j + 1] - starts[j];
      work.firstMoment[j] = 0;
      work.secondMoment[j] = second;
    }
    const params: MixtureParams = { means, variances: new Float64Array(k), weights: new Float64Array(k) };
    mStep(params, work, regCovar);
    return params;
  }
}

/**
 * Greedy k-means++ seeding (as scikit-learn): each new centre is the best, by the resulting
 * potential, of 2 + floor(ln k) candidates drawn with probability proportional to the squared
 * distance to the nearest centre chosen so far.
 * @param closest scratch of length x.length
 */
function kmeansPlusPlusCentres(x: Float64Array, k: number, rng: SeededRandom, closest: Float64Array): Float64Array {
  const n = x.length;
  const centres = new Float64Array(k);
  centres[0] = x[rng.uniformInt(n)];
  let potential = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - centres[0];
    closest[i] = d * d;
    potential += closest[i];
  }
  const nCandidates = 2 + Math.floor(Math.log(k));
  for (let c = 1; c < k; c++) {
    let bestPotential = Infinity;
    for (const index of drawProportional(closest, potential, nCandidates, rng)) {
      const candidatePotential = potentialWith(x, closest, x[index]);
      if (candidatePotential < bestPotential) {
        bestPotential = candidatePotential;
        centres[c] = x[index];
      }
    }
    if (c + 1 < k) {
      for (let i = 0; i < n; i++) {
        const d = x[i] - centres[c];
        closest[i] = Math.min(closest[i], d * d);
      }
    }
    potential = bestPotential;
  }
  return centres;
}

/** Indices drawn with probability proportional to `mass` (uniformly when all mass is 0), in one pass. */
function drawProportional(mass: Float64Array, total: number, count: number, rng: SeededRandom): number[] {
  const n = mass.length;
  if (!(total > 0)) return Array.from({ length: count }, () => rng.uniformInt(n));
  const targets = Array.from({ length: count }, () => rng.uniform() * total).sort((a, b) => a - b);
  const picked: number[] = [];
  let cumulative = 0;
  let lastPositive = 0;
  for (let i = 0; i < n && picked.length < count; i++) {
    if (mass[i] > 0) lastPositive = i;
    cumulative += mass[i];
    while (picked.length < count && cumulative > targets[picked.length]) picked.push(i);
  }
  // Rounding can leave the last targets just above the computed total.
  while (picked.length < count) picked.push(lastPositive);
  return picked;
}

/** k-means potential after adding a centre at `centre`. */
function potentialWith(x: Float64Array, closest: Float64Array, centre: number): number {
  let potential = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - centre;
    potential += Math.min(closest[i], d * d);
  }
  return potential;
}
