/**
 * One EM iteration for a 1-D Gaussian mixture, E and M steps fused into a single pass over the
 * data: the E step's responsibilities are folded straight into the sufficient statistics, so no
 * n x k responsibility matrix is ever stored.
 */

import { expNonPositive } from './fast-exp.js';
import { fillComponentLogTerms, type MixtureParams } from './mixture.js';

/** scikit-learn adds 10 * machine epsilon to every component's mass so that empty components stay finite. */
const MASS_EPSILON = 10 * Number.EPSILON;
/** Flush the running product of per-sample normalisers into the log sum before it can overflow. */
const PRODUCT_FLUSH_ABOVE = 1e280;

/**
 * Per-component scratch space for EM, allocated once per fit. The sums are taken relative to the
 * current means (shifted data), which keeps the variance update free of catastrophic cancellation.
 */
export class EmWorkspace {
  readonly logConst: Float64Array;
  readonly negHalfPrecision: Float64Array;
  readonly terms: Float64Array;
  /** sum_i r_ij */
  readonly mass: Float64Array;
  /** sum_i r_ij (x_i - mu_j) */
  readonly firstMoment: Float64Array;
  /** sum_i r_ij (x_i - mu_j)^2 */
  readonly secondMoment: Float64Array;

  constructor(readonly nComponents: number) {
    this.logConst = new Float64Array(nComponents);
    this.negHalfPrecision = new Float64Array(nComponents);
    this.terms = new Float64Array(nComponents);
    this.mass = new Float64Array(nComponents);
    this.firstMoment = new Float64Array(nComponents);
    this.secondMoment = new Float64Array(nComponents);
  }
}

/**
 * Runs one EM iteration: the E step under `params`, then the M step, which overwrites the
 * contents of `params` arrays.
 * @returns the mean log-likelihood per sample under the parameters *before* the update
 *   (scikit-learn's `lower_bound_` convention); NaN or -Infinity when it overflowed.
 */
export function emIteration(
  x: Float64Array,
  params: MixtureParams,
  regCovar: number,
  work: EmWorkspace,
): number {
  fillComponentLogTerms(params, work.logConst, work.negHalfPrecision);
  const logLikelihoodSum =
    work.nComponents === 2 ? accumulateTwoComponents(x, params, work) : accumulateComponents(x, params, work);
  mStep(params, work, regCovar);
  return logLikelihoodSum / x.length;
}

/** The E step for any k; returns the summed log-likelihood and fills the workspace sums. */
function accumulateComponents(x: Float64Array, params: MixtureParams, work: EmWorkspace): number {
  const k = work.nComponents;
  const { logConst, negHalfPrecision, terms, mass, firstMoment, secondMoment } = work;
  const means = params.means;
  mass.fill(0);
  firstMoment.fill(0);
  secondMoment.fill(0);
  let maxTermSum = 0;
  let logProductSum = 0;
  let product = 1;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    let maxTerm = -Infinity;
    let argMax = 0;
    for (let j = 0; j < k; j++) {
      const d = xi - means[j];
      const t = logConst[j] + negHalfPrecision[j] * d * d;
      terms[j] = t;
      if (t > maxTerm) {
        maxTerm = t;
        argMax = j;
      }
    }
    let normaliser = 0;
    for (let j = 0; j < k; j++) {
      const e = j === argMax ? 1 : expNonPositive(terms[j] - maxTerm);
      terms[j] = e;
      normaliser += e;
    }
    // log-sum-exp = maxTerm + log(normaliser); normaliser lies in [1, k], so the logs are taken
    // on a running product, flushed before it could overflow: one log per ~400 samples, not one per sample.
    maxTermSum += maxTerm;
    product *= normaliser;
    if (product > PRODUCT_FLUSH_ABOVE) {
      logProductSum += Math.log(product);
      product = 1;
    }
    const inverse = 1 / normaliser;
    for (let j = 0; j < k; j++) {
      const r = terms[j] * inverse;
      const d = xi - means[j];
      const rd = r * d;
      mass[j] += r;
      firstMoment[j] += rd;
      secondMoment[j] += rd * d;
    }
  }
  return maxTermSum + logProductSum + Math.log(product);
}

/** The same E step unrolled for k = 2 (the method's case): accumulators stay in registers, one exp per sample. */
function accumulateTwoComponents(x: Float64Array, params: MixtureParams, work: EmWorkspace): number {
  const mean0 = params.means[0];
  const mean1 = params.means[1];
  const logConst0 = work.logConst[0];
  const logConst1 = work.logConst[1];
  const negHalfPrecision0 = work.negHalfPrecision[0];
  const negHalfPrecision1 = work.negHalfPrecision[1];
  let mass1 = 0;
  let firstMoment0 = 0;
  let firstMoment1 = 0;
  let secondMoment0 = 0;
  let secondMoment1 = 0;
  let maxTermSum = 0;
  let logProductSum = 0;
  let product = 1;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const d0 = xi - mean0;
    const d1 = xi - mean1;
    const t0 = logConst0 + negHalfPrecision0 * d0 * d0;
    const t1 = logConst1 + negHalfPrecision1 * d1 * d1;
    let r0: number;
    let r1: number;
    let smaller: number;
    if (t0 >= t1) {
      smaller = expNonPositive(t1 - t0);
      maxTermSum += t0;
      r0 = 1 / (1 + smaller);
      r1 = smaller * r0;
    } else {
      smaller = expNonPositive(t0 - t1);
      maxTermSum += t1;
      r1 = 1 / (1 + smaller);
      r0 = smaller * r1;
    }
    product *= 1 + smaller;
    if (product > PRODUCT_FLUSH_ABOVE) {
      logProductSum += Math.log(product);
      product = 1;
    }
    mass1 += r1;
    const rd0 = r0 * d0;
    const rd1 = r1 * d1;
    firstMoment0 += rd0;
    firstMoment1 += rd1;
    secondMoment0 += rd0 * d0;
    secondMoment1 += rd1 * d1;
  }
  // r0 + r1 = 1 up to rounding, so the first mass needs no accumulator of its own.
  work.mass[0] = x.length - mass1;
  work.mass[1] = mass1;
  work.firstMoment[0] = firstMoment0;
  work.firstMoment[1] = firstMoment1;
  work.secondMoment[0] = secondMoment0;
  work.secondMoment[1] = secondMoment1;
  return maxTermSum + logProductSum + Math.log(product);
}

/**
 * The M step from the sums in `work` (taken relative to the current means): overwrites the
 * weights, means and variances (floored at regCovar) in `params`.
 */
export function mStep(params: MixtureParams, work: EmWorkspace, regCovar: number): void {
  const k = work.nComponents;
  let totalMass = 0;
  for (let j = 0; j < k; j++) {
    const mass = Math.max(work.mass[j], 0) + MASS_EPSILON;
    const shift = work.firstMoment[j] / mass;
    // sum r (x - mu_old - shift)^2 = S2 - 2 shift S1 + shift^2 S0
    const spread = work.secondMoment[j] - 2 * shift * work.firstMoment[j] + shift * shift * work.mass[j];
    params.means[j] += shift;
    params.variances[j] = Math.max(spread / mass, 0) + regCovar;
    params.weights[j] = mass;
    totalMass += mass;
  }
  for (let j = 0; j < k; j++) params.weights[j] /= totalMass;
}
