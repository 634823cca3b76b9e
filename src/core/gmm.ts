/**
 * A 1-D Gaussian mixture fitted by EM, shaped like scikit-learn's `GaussianMixture`
 * (same defaults, same stopping rule, same lower-bound convention), but seeded and fast.
 */

import { EmWorkspace, emIteration } from './gmm-em.js';
import { KMeansInitializer } from './kmeans1d.js';
import { evaluateMixture, type MixtureParams } from './mixture.js';
import { SeededRandom } from './prng.js';
import { mean, variance } from './stats.js';
import { checkInteger, checkNumberInRange, checkOneOf, finiteFloat64, type NumericArray } from './validate.js';

/** How each EM run is started. */
export type GmmInit = 'kmeans' | 'random';

/** Options of {@link GaussianMixture}; the defaults are scikit-learn's, plus a fixed seed. */
export interface GaussianMixtureOptions {
  /** Number of components, >= 1 (default 1). */
  nComponents?: number;
  /** Number of EM runs from different initialisations; the best lower bound wins (default 1). */
  nInit?: number;
  /** EM iterations per run (default 100). */
  maxIter?: number;
  /** Stop when the mean log-likelihood per sample changes by less than this (default 1e-3). */
  tol?: number;
  /** Added to every variance: the variance floor, > 0 (default 1e-6). */
  regCovar?: number;
  /** Seed of the initialisations, a safe integer (default 0). */
  seed?: number;
  /**
   * 'kmeans' (default): k-means++ seeding and Lloyd iterations, then one M step on the hard
   * partition (scikit-learn's default). 'random': means at k distinct random data points,
   * every variance the data variance, equal weights. Inputs of 65,536 values or more are
   * initialised on a seeded sample, then refined on all of them (see INIT_SAMPLE_FRACTION).
   */
  init?: GmmInit;
}

const DEFAULTS: Required<GaussianMixtureOptions> = {
  nComponents: 1,
  nInit: 1,
  maxIter: 100,
  tol: 1e-3,
  regCovar: 1e-6,
  seed: 0,
  init: 'kmeans',
};

/** Fitted state of one EM run. */
interface EmRun {
  params: MixtureParams;
  lowerBound: number;
  converged: boolean;
  nIter: number;
}

/** The winning run, and how many EM runs the fit performed. */
interface FitResult extends EmRun {
  emRuns: number;
}

/**
 * Gaussian mixture on 1-D data. Components are sorted by mean after fitting, so results do
 * not depend on which initialisation won.
 *
 * ```ts
 * const gmm = new GaussianMixture({ nComponents: 2, nInit: 5 }).fit(gaps);
 * gmm.means; gmm.predictProba(gaps); gmm.bic(gaps);
 * ```
 */
export class GaussianMixture {
  readonly nComponents: number;
  readonly nInit: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly regCovar: number;
  readonly seed: number;
  readonly init: GmmInit;
  private fitted: FitResult | undefined;

  constructor(options: GaussianMixtureOptions = {}) {
    const o = { ...DEFAULTS, ...options };
    checkInteger(o.nComponents, 'nComponents', 1);
    checkInteger(o.nInit, 'nInit', 1);
    checkInteger(o.maxIter, 'maxIter', 1);
    checkNumberInRange(o.tol, 'tol', 0);
    checkNumberInRange(o.regCovar, 'regCovar', Number.MIN_VALUE);
    checkInteger(o.seed, 'seed', Number.MIN_SAFE_INTEGER);
    checkOneOf(o.init, 'init', ['kmeans', 'random']);
    this.nComponents = o.nComponents;
    this.nInit = o.nInit;
    this.maxIter = o.maxIter;
    this.tol = o.tol;
    this.regCovar = o.regCovar;
    this.seed = o.seed;
    this.init = o.init;
  }

  /**
   * Fits the mixture by EM from `nInit` initialisations and keeps the run with the highest
   * lower bound. Throws on an empty input, fewer samples than components, or a non-finite value
   * (naming its index and value).
   */
  fit(x: NumericArray): this {
    const data = finiteFloat64(x, 'x');
    const n = data.length;
    if (n === 0) throw new RangeError('cannot fit a Gaussian mixture to an empty array');
    if (n < this.nComponents) {
      throw new RangeError(`cannot fit ${this.nComponents} components to ${n} samples: need n >= nComponents`);
    }
    const best = this.nComponents === 1 ? this.fitSingle(data) : this.fitEm(data);
    this.fitted = sortedByMean(best);
    return this;
  }

  /** The closed-form one-component fit. */
  private fitSingle(data: Float64Array): FitResult {
    const params: MixtureParams = {
      means: Float64Array.of(mean(data)),
      variances: Float64Array.of(variance(data) + this.regCovar),
      weights: Float64Array.of(1),
    };
    const logLikelihood = new Float64Array(data.length);
    evaluateMixture(params, data, logLikelihood, null);
    return { params, lowerBound: mean(logLikelihood), converged: true, nIter: 1, emRuns: 0 };
  }

  private fitEm(data: Float64Array): FitResult {
    const rng = new SeededRandom(this.seed);
    const work = new EmWorkspace(this.nComponents);
    const sample = initialisationSample(data, rng);
    const kmeans = this.init === 'kmeans' ? new KMeansInitializer(sample) : undefined;
    const sampleVariance = kmeans ? NaN : variance(sample);
    // EM is deterministic: an initialisation equal to an earlier one would repeat its run exactly.
    const tried = new Set<string>();
    let best: EmRun | undefined;
    for (let run = 0; run < this.nInit; run++) {
      const params = kmeans
        ? kmeans.initialParams(this.nComponents, rng, this.regCovar, work)
        : this.randomParams(sample, sampleVariance, rng);
      const key = paramsKey(params);
      if (tried.has(key)) continue;
      tried.add(key);
      if (sample !== data) {
        const budget = Math.floor((WARM_START_PASSES * data.length) / sample.length);
        this.runEm(sample, params, work, Math.min(this.tol, WARM_START_TOL), Math.min(this.maxIter, budget));
      }
      const result = this.runEm(data, params, work, this.tol, this.maxIter);
      if (best === undefined || result.lowerBound > best.lowerBound) best = result;
    }
    return { ...(best as EmRun), emRuns: tried.size };
  }

  private randomParams(data: Float64Array, dataVariance: number, rng: SeededRandom): MixtureParams {
    const k = this.nComponents;
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(rng.uniformInt(data.length));
    return {
      means: Float64Array.from(chosen, (i) => data[i]),
      variances: new Float64Array(k).fill(dataVariance + this.regCovar),
      weights: new Float64Array(k).fill(1 / k),
    };
  }

  /** EM from `params` (updated in place) until the lower bound changes by less than `tol`. */
  private runEm(data: Float64Array, params: MixtureParams, work: EmWorkspace, tol: number, maxIter: number): EmRun {
    let lowerBound = -Infinity;
    for (let iteration = 1; iteration <= maxIter; iteration++) {
      const previous = lowerBound;
      lowerBound = emIteration(data, params, this.regCovar, work);
      if (!Number.isFinite(lowerBound)) {
        throw new RangeError(
          `the log-likelihood overflowed (${lowerBound}): the data span too wide a range for regCovar=${this.regCovar}`,
        );
      }
      if (Math.abs(lowerBound - previous) < tol) return { params, lowerBound, converged: true, nIter: iteration };
    }
    return { params, lowerBound, converged: false, nIter: maxIter };
  }

  private get state(): FitResult {
    if (this.fitted === undefined) throw new Error('this GaussianMixture is not fitted yet: call fit(x) first');
    return this.fitted;
  }

  /** Component means, ascending. */
  get means(): Float64Array {
    return this.state.params.means;
  }

  /** Component variances (regCovar included). */
  get variances(): Float64Array {
    return this.state.params.variances;
  }

  /** Mixing weights, summing to 1. */
  get weights(): Float64Array {
    return this.state.params.weights;
  }

  /** All three parameter arrays, e.g. for {@link mixtureDensity}. */
  get params(): MixtureParams {
    return this.state.params;
  }

  /** Whether the winning run met tol within maxIter. */
  get converged(): boolean {
    return this.state.converged;
  }

  /**
   * EM runs the fit performed: nInit, less the initialisations equal to an earlier one (whose
   * runs would repeat exactly); 0 for the closed-form one-component fit.
   */
  get emRuns(): number {
    return this.state.emRuns;
  }

  /** Full-data EM iterations of the winning run (after the sampled warm start, for large inputs). */
  get nIter(): number {
    return this.state.nIter;
  }

  /** Mean log-likelihood per sample of the winning run at its last E step (scikit-learn's lower_bound_). */
  get lowerBound(): number {
    return this.state.lowerBound;
  }

  /** Posterior of each component per sample, row-major n x nComponents. */
  predictProba(x: NumericArray): Float64Array {
    const data = finiteFloat64(x, 'x');
    const posteriors = new Float64Array(data.length * this.nComponents);
    evaluateMixture(this.state.params, data, null, posteriors);
    return posteriors;
  }

  /** Most probable component per sample. */
  predict(x: NumericArray): Int32Array {
    const k = this.nComponents;
    const posteriors = this.predictProba(x);
    const labels = new Int32Array(posteriors.length / k);
    for (let i = 0; i < labels.length; i++) {
      let bestComponent = 0;
      for (let j = 1; j < k; j++) if (posteriors[i * k + j] > posteriors[i * k + bestComponent]) bestComponent = j;
      labels[i] = bestComponent;
    }
    return labels;
  }

  /** Log-likelihood of each sample, log sum_j w_j N(x | mu_j, var_j). */
  scoreSamples(x: NumericArray): Float64Array {
    const data = finiteFloat64(x, 'x');
    const logLikelihood = new Float64Array(data.length);
    evaluateMixture(this.state.params, data, logLikelihood, null);
    return logLikelihood;
  }

  /** Mean log-likelihood per sample. */
  score(x: NumericArray): number {
    return mean(this.scoreSamples(x));
  }

  /** Free parameters of a 1-D mixture: k means, k variances, k - 1 weights. */
  get nParameters(): number {
    return 3 * this.nComponents - 1;
  }

  /** Bayesian information criterion on x (lower is better): -2 log L + p ln n. */
  bic(x: NumericArray): number {
    return -2 * this.score(x) * x.length + this.nParameters * Math.log(x.length);
  }

  /** Akaike information criterion on x (lower is better): -2 log L + 2 p. */
  aic(x: NumericArray): number {
    return -2 * this.score(x) * x.length + 2 * this.nParameters;
  }
}

/**
 * Large inputs are initialised on a seeded sample (drawn with replacement) of a sixteenth of the
 * data, at least INIT_SAMPLE_MIN and at most INIT_SAMPLE_MAX values: k-means and a first EM to
 * WARM_START_TOL (for at most the work of WARM_START_PASSES passes over all the data) run on
 * the sample, then EM continues on all the data. The full-data EM then starts within sampling
 * error of its optimum, so it stops, by the same tol rule, nearer the optimum and after fewer
 * passes than from a k-means start. Inputs under 4 * INIT_SAMPLE_MIN values are initialised on
 * all of them, exactly as scikit-learn does.
 */
const INIT_SAMPLE_FRACTION = 1 / 16;
const INIT_SAMPLE_MIN = 16_384;
const INIT_SAMPLE_MAX = 65_536;
/** Convergence tolerance of the EM on the initialisation sample (tol, if smaller). */
const WARM_START_TOL = 1e-6;
/** Iteration budget of the EM on the sample, in full-data passes (flat likelihoods converge slowly). */
const WARM_START_PASSES = 2;

/** The data itself when not large, else a seeded sample drawn with replacement (see INIT_SAMPLE_FRACTION). */
function initialisationSample(data: Float64Array, rng: SeededRandom): Float64Array {
  const n = data.length;
  if (n < 4 * INIT_SAMPLE_MIN) return data;
  const size = Math.min(INIT_SAMPLE_MAX, Math.max(INIT_SAMPLE_MIN, Math.round(n * INIT_SAMPLE_FRACTION)));
  const sample = new Float64Array(size);
  for (let i = 0; i < size; i++) sample[i] = data[rng.uniformInt(n)];
  return sample;
}

/** Exact identity of a parameter set (every bit of every value). */
function paramsKey(params: MixtureParams): string {
  return [...params.means, ...params.variances, ...params.weights].join(',');
}

/** The run with its components reordered by ascending mean. */
function sortedByMean(run: FitResult): FitResult {
  const { means, variances, weights } = run.params;
  const order = Array.from(means.keys()).sort((a, b) => means[a] - means[b]);
  return {
    ...run,
    params: {
      means: Float64Array.from(order, (j) => means[j]),
      variances: Float64Array.from(order, (j) => variances[j]),
      weights: Float64Array.from(order, (j) => weights[j]),
    },
  };
}
