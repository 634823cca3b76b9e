/**
 * k-means in one dimension, used to start EM the way scikit-learn does by default: k-means++
 * seeding, Lloyd iterations, then one M step on the hard partition.
 *
 * Speed: the data are sorted once per fit and shared by every initialisation. In sorted 1-D
 * data every cluster is a contiguous run between midpoints of the sorted centres, so a Lloyd
 * iteration is k binary searches plus prefix-sum look-ups, and iterating to the exact fixed
 * point costs next to nothing. (The GMM passes a sample of at most 65,536 values for large
 * inputs; see gmm.ts.)
 */

import { type EmWorkspace, mStep } from './gmm-em.js';
import type { MixtureParams } from './mixture.js';
import type { SeededRandom } from './prng.js';

/** A cap that strict Lloyd convergence never reaches in practice; it only guards against float cycles. */
const LLOYD_MAX_ITERATIONS = 300;

/** Starts EM runs from k-means partitions of the data (sorted once). */
export class KMeansInitializer {
  /** The data, sorted ascending. */
  private readonly sorted: Float64Array;
  /** prefix[i] = sum of (sorted[t] - shift) for t < i; the shift keeps the sums small. */
  private readonly prefix: Float64Array;
  private readonly shift: number;
  /** Scratch: squared distance of each value to its nearest centre (k-means++). */
  private readonly closest: Float64Array;

  constructor(x: Float64Array) {
    this.sorted = Float64Array.from(x).sort();
    const m = this.sorted.length;
    this.shift = this.sorted[m >> 1];
    this.prefix = new Float64Array(m + 1);
    for (let i = 0; i < m; i++) this.prefix[i + 1] = this.prefix[i] + (this.sorted[i] - this.shift);
    this.closest = new Float64Array(m);
  }

  /**
   * Initial mixture parameters for one EM run: k-means++ seeds drawn from `rng`, Lloyd
   * iterations to the exact fixed point, then an M step with 0/1 responsibilities. Equal
   * partitions give bitwise-equal parameters.
   */
  initialParams(k: number, rng: SeededRandom, regCovar: number, work: EmWorkspace): MixtureParams {
    const centres = kmeansPlusPlusCentres(this.sorted, k, rng, this.closest).sort();
    const starts = this.lloyd(centres);
    return this.partitionParams(starts, centres, regCovar, work);
  }

  /**
   * Lloyd iterations until the partition stops changing. The centres are updated in place (and
   * stay sorted: an empty run keeps its centre, which lies inside it).
   * @returns starts: cluster j is sorted[starts[j] .. starts[j + 1]); starts has k + 1 entries
   */
  private lloyd(centres: Float64Array): Int32Array {
    const k = centres.length;
    const m = this.sorted.length;
    const starts = new Int32Array(k + 1);
    const previous = new Int32Array(k + 1).fill(-1);
    starts[k] = m;
    for (let iteration = 0; iteration < LLOYD_MAX_ITERATIONS; iteration++) {
      for (let j = 1; j < k; j++) starts[j] = this.countAtMost(0.5 * (centres[j - 1] + centres[j]));
      if (starts.every((s, j) => s === previous[j])) break;
      previous.set(starts);
      for (let j = 0; j < k; j++) {
        const count = starts[j + 1] - starts[j];
        if (count > 0) centres[j] = this.shift + (this.prefix[starts[j + 1]] - this.prefix[starts[j]]) / count;
      }
    }
    return starts;
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

  /** Weights, means and variances of the partition (an M step with hard responsibilities). */
  private partitionParams(
    starts: Int32Array,
    centres: Float64Array,
    regCovar: number,
    work: EmWorkspace,
  ): MixtureParams {
    const k = centres.length;
    for (let j = 0; j < k; j++) {
      let first = 0;
      let second = 0;
      for (let i = starts[j]; i < starts[j + 1]; i++) {
        const d = this.sorted[i] - centres[j];
        first += d;
        second += d * d;
      }
      work.mass[j] = starts[j + 1] - starts[j];
      work.firstMoment[j] = first;
      work.secondMoment[j] = second;
    }
    const params: MixtureParams = {
      means: Float64Array.from(centres),
      variances: new Float64Array(k),
      weights: new Float64Array(k),
    };
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
