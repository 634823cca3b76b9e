/**
 * The balanced / imbalanced subgroup rule of docs/METHOD.md §3: a 2-component GMM on the gaps,
 * the balanced component is the one whose mean is nearest 0, gamma_i is each sample's posterior
 * of the other one, weighted by the BIC evidence for two components (or, under the hard guard,
 * set to 0 when one component explains the gaps better).
 */

import { GaussianMixture } from './gmm.js';
import type { MixtureParams } from './mixture.js';
import { checkNumberInRange, checkOneOf, finiteFloat64, type NumericArray } from './validate.js';

/** Which values the GMM is fitted on: the signed gaps d_i, or |d_i|. */
export type GmmSpace = 'signed' | 'absolute';
/** How the 2-component fit becomes gamma: the hard BIC guard, or its posterior weight (see SubgroupDecision). */
export type SubgroupDecision = 'bic' | 'soft';

/** Options of {@link imbalancePosterior}. */
export interface ImbalancePosteriorOptions {
  /**
   * 'signed' (default): fit on d_i. 'absolute': fit on |d_i|, for when either modality can be
   * the dominant one and the signed gaps form three clusters (negative, near 0, positive).
   */
  gmmOn?: GmmSpace;
  /**
   * 'bic': gamma = the imbalanced component's posterior when BIC(2) < BIC(1), else 0.
   * 'soft' (default): gamma = w2 x that posterior, w2 = 1 / (1 + exp((BIC(2) - BIC(1)) / 2)) the
   * posterior probability of the 2-component model (BIC weights, equal priors): the samples keep
   * their order by the posterior however weak the evidence, and gamma reaches 0.5 only where BIC
   * prefers two components. So 'soft' never declares more samples imbalanced (gamma > 0.5) than
   * 'bic', equals it wherever BIC finds a subgroup, and where it does not still ranks the samples
   * instead of tying them all at 0 (an AUROC of 0.5 by construction; issue #29: on a `corrupt`
   * fold where the raw gap ranked the corrupted samples at 0.87).
   */
  decision?: SubgroupDecision;
  /**
   * A subgroup also needs components this well separated (Ashman's D = sqrt(2) |mu1 - mu2| /
   * sqrt(s1^2 + s2^2); D > 2 is the usual bound of a clean separation); 0 (default): no gate.
   * Under 'soft' a fit below the gate gives gamma = 0 as under 'bic'.
   */
  minSeparation?: number;
  /**
   * The samples' class labels, to fit on per-class standardised gaps ((d_i - mean of its class) /
   * std of its class, in the space of gmmOn): a class that both modalities find easy or hard then
   * no longer forms a "subgroup" of its own. Not given (default): the gaps as they are.
   */
  classLabels?: ArrayLike<number>;
  /** EM initialisations (default 5). */
  nInit?: number;
  /** EM iterations per initialisation (default 100). */
  maxIter?: number;
  /** EM tolerance on the mean log-likelihood per sample (default 1e-3). */
  tol?: number;
  /** Variance floor (default 1e-6). */
  regCovar?: number;
  /** Seed of the initialisations (default 0). */
  seed?: number;
}

/** The subgroup posterior and everything the run log and the align term need. */
export interface ImbalancePosterior {
  /** Posterior of the imbalanced component per sample; all 0 when no imbalance is detected. */
  readonly gamma: Float64Array;
  /** True when BIC(2) < BIC(1) and the separation passes the gate. */
  readonly imbalanceDetected: boolean;
  /** The decision rule used. */
  readonly decision: SubgroupDecision;
  /** Posterior probability of the 2-component model from the BIC weights, w2 (see 'soft'). */
  readonly evidence: number;
  /** Ashman's D of the 2-component fit. */
  readonly separation: number;
  /** One line for the run log saying what was decided and why. */
  readonly reason: string;
  /** The space the GMMs were fitted in. */
  readonly gmmOn: GmmSpace;
  /** The 2-component fit, components sorted by mean. */
  readonly gmm: MixtureParams;
  /** Index (0 or 1) of the balanced component in `gmm`: the mean nearest 0 (ties: the lower mean). */
  readonly balancedComponent: number;
  /** The 1-component fit. */
  readonly single: MixtureParams;
  /** BIC of the 1- and 2-component fits (lower is better). */
  readonly bic1: number;
  readonly bic2: number;
  /**
   * Centre and spread of the balanced subgroup in the signed-gap space, for the align term
   * ((d - muBal) / sigmaBal)^2. 'signed': the balanced component's mean and standard deviation
   * (or the 1-component fit's when no imbalance is detected). 'absolute' or classLabels: the mean and standard
   * deviation of the signed gaps weighted by the balanced posterior 1 - gamma_i (plus regCovar
   * in the variance), which for gamma = 0 are those of all the gaps.
   */
  readonly muBal: number;
  readonly sigmaBal: number;
}

/**
 * Fits 1- and 2-component GMMs to the gaps and returns the posterior of the imbalanced
 * subgroup, or gamma = 0 for everyone when BIC prefers one component (BIC(1) <= BIC(2)).
 * @param gaps per-sample Modality Gaps (signed; see modalityGap / modalitySpread); at least 2
 */
export function imbalancePosterior(gaps: NumericArray, options: ImbalancePosteriorOptions = {}): ImbalancePosterior {
  const gmmOn = options.gmmOn ?? 'signed';
  checkOneOf(gmmOn, 'gmmOn', ['signed', 'absolute']);
  const decision = options.decision ?? 'soft';
  checkOneOf(decision, 'decision', ['bic', 'soft']);
  const minSeparation = options.minSeparation ?? 0;
  checkNumberInRange(minSeparation, 'minSeparation', 0);
  const signed = finiteFloat64(gaps, 'gaps');
  const spaced = gmmOn === 'signed' ? signed : signed.map(Math.abs);
  const perClass = options.classLabels !== undefined;
  const fitted = perClass ? standardiseByClass(spaced, options.classLabels as ArrayLike<number>) : spaced;
  const gmmOptions = {
    nInit: options.nInit ?? 5,
    maxIter: options.maxIter ?? 100,
    tol: options.tol ?? 1e-3,
    regCovar: options.regCovar ?? 1e-6,
    seed: options.seed ?? 0,
  };
  const two = new GaussianMixture({ ...gmmOptions, nComponents: 2 }).fit(fitted);
  const one = new GaussianMixture({ ...gmmOptions, nComponents: 1 }).fit(fitted);
  const bic1 = one.bic(fitted);
  const bic2 = two.bic(fitted);
  const balanced = Math.abs(two.means[1]) < Math.abs(two.means[0]) ? 1 : 0;
  const imbalanced = 1 - balanced;
  const separation = (Math.SQRT2 * Math.abs(two.means[1] - two.means[0])) / Math.sqrt(two.variances[0] + two.variances[1]);
  const separated = separation >= minSeparation;
  const imbalanceDetected = bic2 < bic1 && separated;
  // exp overflows to Infinity for a large BIC difference: w2 = 0, as it should.
  const evidence = 1 / (1 + Math.exp((bic2 - bic1) / 2));
  const n = signed.length;

  const gamma = new Float64Array(n);
  const weight = decision === 'soft' ? (separated ? evidence : 0) : imbalanceDetected ? 1 : 0;
  if (weight > 0) {
    const posteriors = two.predictProba(fitted);
    for (let i = 0; i < n; i++) gamma[i] = weight * posteriors[i * 2 + imbalanced];
  }

  let muBal: number;
  let sigmaBal: number;
  if (gmmOn === 'absolute' || perClass) {
    ({ mean: muBal, std: sigmaBal } = balancedMoments(signed, gamma, gmmOptions.regCovar));
  } else {
    const source = imbalanceDetected ? two : one;
    const component = imbalanceDetected ? balanced : 0;
    muBal = source.means[component];
    sigmaBal = Math.sqrt(source.variances[component]);
  }

  const space = `${perClass ? 'per-class standardised ' : ''}${gmmOn === 'signed' ? 'signed gaps' : '|gaps|'}`;
  const soft = decision === 'soft' && separated ? `; soft decision: gamma = ${evidence.toPrecision(3)} x the imbalanced posterior` : '';
  const reason = (imbalanceDetected
    ? `BIC(2) = ${bic2.toFixed(2)} < BIC(1) = ${bic1.toFixed(2)} on ${space}: imbalanced component ` +
      `mean ${two.means[imbalanced].toFixed(4)} (weight ${two.weights[imbalanced].toFixed(3)}), balanced ` +
      `mean ${two.means[balanced].toFixed(4)} (weight ${two.weights[balanced].toFixed(3)})`
    : !separated
      ? `components too close (Ashman's D ${separation.toFixed(2)} < ${minSeparation}) on ${space}: no imbalanced subgroup; gamma = 0 for all ${n} samples`
      : `BIC(1) = ${bic1.toFixed(2)} <= BIC(2) = ${bic2.toFixed(2)} on ${space}: one component explains the ` +
        `gaps, so there is no imbalanced subgroup` + (soft ? '' : `; gamma = 0 for all ${n} samples`)) + soft;

  return {
    gamma,
    imbalanceDetected,
    decision,
    evidence,
    separation,
    reason,
    gmmOn,
    gmm: two.params,
    balancedComponent: balanced,
    single: one.params,
    bic1,
    bic2,
    muBal,
    sigmaBal,
  };
}

/** Each value minus its class's mean, over its class's standard deviation (a class of one sample, or of equal values: 0). */
export function standardiseByClass(x: Float64Array, labels: ArrayLike<number>): Float64Array {
  if (labels.length !== x.length) throw new RangeError(`classLabels has ${labels.length} labels for ${x.length} gaps; pass one label per gap`);
  const stats = new Map<number, { n: number; sum: number; sq: number }>();
  for (let i = 0; i < x.length; i++) {
    const c = labels[i] as number;
    if (!Number.isInteger(c)) throw new RangeError(`classLabels[${i}] is ${c}; expected an integer class label`);
    const t = stats.get(c) ?? { n: 0, sum: 0, sq: 0 };
    t.n++; t.sum += x[i] as number; t.sq += (x[i] as number) ** 2;
    stats.set(c, t);
  }
  return x.map((v, i) => {
    const t = stats.get(labels[i] as number)!;
    const m = t.sum / t.n;
    const sd = Math.sqrt(Math.max(t.sq / t.n - m * m, 0));
    return sd > 1e-12 ? (v - m) / sd : 0;
  });
}

/** Mean and standard deviation of the signed gaps weighted by 1 - gamma_i; regCovar floors the variance. */
function balancedMoments(signed: Float64Array, gamma: Float64Array, regCovar: number): { mean: number; std: number } {
  let weightSum = 0;
  let weighted = 0;
  for (let i = 0; i < signed.length; i++) {
    const w = 1 - gamma[i];
    weightSum += w;
    weighted += w * signed[i];
  }
  const mean = weighted / weightSum;
  let squares = 0;
  for (let i = 0; i < signed.length; i++) {
    const d = signed[i] - mean;
    squares += (1 - gamma[i]) * d * d;
  }
  return { mean, std: Math.sqrt(squares / weightSum + regCovar) };
}
