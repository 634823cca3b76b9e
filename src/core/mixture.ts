/** Evaluating a 1-D Gaussian mixture: log-likelihoods, posteriors and densities for plots. */

/** Parameters of a 1-D Gaussian mixture; the three arrays have one entry per component. */
export interface MixtureParams {
  readonly means: Float64Array;
  readonly variances: Float64Array;
  readonly weights: Float64Array;
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Precomputes, per component j, logConst[j] = log w_j - log(2 pi var_j) / 2 and
 * negHalfPrecision[j] = -1 / (2 var_j), so that log(w_j N(x | mu_j, var_j)) is
 * logConst[j] + negHalfPrecision[j] * (x - mu_j)^2: no log or division per sample.
 */
export function fillComponentLogTerms(
  params: MixtureParams,
  logConst: Float64Array,
  negHalfPrecision: Float64Array,
): void {
  const k = params.means.length;
  for (let j = 0; j < k; j++) {
    const variance = params.variances[j];
    logConst[j] = Math.log(params.weights[j]) - 0.5 * (LOG_2PI + Math.log(variance));
    negHalfPrecision[j] = -0.5 / variance;
  }
}

/**
 * Log-likelihood of every sample under the mixture (log-sum-exp, no underflow) and, when
 * `posteriors` is given, the posterior of each component (row-major n x k).
 */
export function evaluateMixture(
  params: MixtureParams,
  x: Float64Array,
  logLikelihood: Float64Array | null,
  posteriors: Float64Array | null,
): void {
  const k = params.means.length;
  const means = params.means;
  const logConst = new Float64Array(k);
  const negHalfPrecision = new Float64Array(k);
  fillComponentLogTerms(params, logConst, negHalfPrecision);
  const terms = new Float64Array(k);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    let maxTerm = -Infinity;
    for (let j = 0; j < k; j++) {
      const d = xi - means[j];
      const t = logConst[j] + negHalfPrecision[j] * d * d;
      terms[j] = t;
      if (t > maxTerm) maxTerm = t;
    }
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(terms[j] - maxTerm);
      terms[j] = e;
      sum += e;
    }
    if (logLikelihood !== null) logLikelihood[i] = maxTerm + Math.log(sum);
    if (posteriors !== null) {
      const row = i * k;
      for (let j = 0; j < k; j++) posteriors[row + j] = terms[j] / sum;
    }
  }
}

/** Mixture density on a grid, for plots. */
export interface MixtureDensity {
  /** The grid the density was evaluated on. */
  readonly grid: Float64Array;
  /** Total density sum_j w_j N(grid | mu_j, var_j), one value per grid point. */
  readonly total: Float64Array;
  /** Weighted density of each component, row-major k x grid.length (row j = component j). */
  readonly components: Float64Array;
}

/** Evaluates the mixture density (and each weighted component) at every grid point. */
export function mixtureDensity(params: MixtureParams, grid: Float64Array): MixtureDensity {
  const k = params.means.length;
  const g = grid.length;
  const total = new Float64Array(g);
  const components = new Float64Array(k * g);
  const logConst = new Float64Array(k);
  const negHalfPrecision = new Float64Array(k);
  fillComponentLogTerms(params, logConst, negHalfPrecision);
  for (let j = 0; j < k; j++) {
    const mean = params.means[j];
    for (let t = 0; t < g; t++) {
      const d = grid[t] - mean;
      const density = Math.exp(logConst[j] + negHalfPrecision[j] * d * d);
      components[j * g + t] = density;
      total[t] += density;
    }
  }
  return { grid, total, components };
}

/** n evenly spaced points from start to stop inclusive (numpy's linspace); n >= 2. */
export function linspace(start: number, stop: number, n: number): Float64Array {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`linspace needs n >= 2 points, got ${n}`);
  if (!Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new RangeError(`linspace bounds must be finite, got [${start}, ${stop}]`);
  }
  const out = new Float64Array(n);
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  out[n - 1] = stop;
  return out;
}
