import { describe, expect, it } from 'vitest';
import { GaussianMixture, SeededRandom, mean } from '../../src/core/index.js';

/** Draws n values from a 1-D Gaussian mixture with the given components. */
function drawMixture(n: number, seed: number, components: { mean: number; sd: number; weight: number }[]): Float64Array {
  const rng = new SeededRandom(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.uniform();
    let j = 0;
    while (j < components.length - 1 && u >= components[j].weight) u -= components[j++].weight;
    x[i] = components[j].mean + components[j].sd * rng.normal();
  }
  return x;
}

const twoClusters = drawMixture(2000, 1, [
  { mean: 0, sd: 0.05, weight: 0.7 },
  { mean: 0.6, sd: 0.1, weight: 0.3 },
]);

describe('GaussianMixture: behaviour', () => {
  it('recovers two separated components (means within 0.01, weights within 0.03)', () => {
    const gmm = new GaussianMixture({ nComponents: 2, nInit: 3 }).fit(twoClusters);
    expect(Math.abs(gmm.means[0])).toBeLessThan(0.01);
    expect(Math.abs(gmm.means[1] - 0.6)).toBeLessThan(0.01);
    expect(Math.abs(gmm.weights[0] - 0.7)).toBeLessThan(0.03);
    expect(Math.abs(gmm.weights[0] + gmm.weights[1] - 1)).toBeLessThan(1e-12);
    expect(gmm.converged).toBe(true);
    expect(gmm.nIter).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', () => {
    const a = new GaussianMixture({ nComponents: 2, nInit: 2, seed: 7 }).fit(twoClusters);
    const b = new GaussianMixture({ nComponents: 2, nInit: 2, seed: 7 }).fit(twoClusters);
    expect(Array.from(a.means)).toEqual(Array.from(b.means));
    expect(Array.from(a.variances)).toEqual(Array.from(b.variances));
    expect(a.lowerBound).toBe(b.lowerBound);
  });

  it('fits any k: three components with the general kernel (means within 0.02)', () => {
    const x = drawMixture(3000, 2, [
      { mean: -0.6, sd: 0.05, weight: 0.3 },
      { mean: 0, sd: 0.05, weight: 0.4 },
      { mean: 0.6, sd: 0.05, weight: 0.3 },
    ]);
    const gmm = new GaussianMixture({ nComponents: 3, nInit: 3 }).fit(x);
    [-0.6, 0, 0.6].forEach((m, j) => expect(Math.abs(gmm.means[j] - m)).toBeLessThan(0.02));
    const rows = gmm.predictProba(x);
    expect(rows.length).toBe(3 * x.length);
  });

  it('fits one component in closed form: population mean and variance + regCovar (1e-12)', () => {
    const x = Float64Array.of(1, 2, 3, 4);
    const gmm = new GaussianMixture({ regCovar: 1e-6 }).fit(x);
    expect(gmm.means[0]).toBe(2.5);
    expect(Math.abs(gmm.variances[0] - (1.25 + 1e-6))).toBeLessThan(1e-12);
    expect(gmm.weights[0]).toBe(1);
    // log N(x | 2.5, 1.25 + 1e-6), averaged by hand
    const v = 1.25 + 1e-6;
    const expected = mean(Array.from(x, (xi) => -0.5 * Math.log(2 * Math.PI * v) - ((xi - 2.5) ** 2) / (2 * v)));
    expect(Math.abs(gmm.score(x) - expected)).toBeLessThan(1e-12);
  });

  it('gives posteriors rows that sum to 1, predict = argmax, score = mean of scoreSamples (1e-12)', () => {
    const gmm = new GaussianMixture({ nComponents: 2 }).fit(twoClusters);
    const probe = Float64Array.of(-0.1, 0.05, 0.3, 0.6, 2);
    const proba = gmm.predictProba(probe);
    const labels = gmm.predict(probe);
    for (let i = 0; i < probe.length; i++) {
      expect(Math.abs(proba[2 * i] + proba[2 * i + 1] - 1)).toBeLessThan(1e-12);
      expect(labels[i]).toBe(proba[2 * i + 1] > proba[2 * i] ? 1 : 0);
    }
    expect(Array.from(labels.subarray(0, 2))).toEqual([0, 0]);
    expect(labels[4]).toBe(1);
    expect(Math.abs(gmm.score(probe) - mean(gmm.scoreSamples(probe)))).toBeLessThan(1e-12);
  });

  it('computes BIC and AIC with 3k - 1 free parameters', () => {
    const gmm = new GaussianMixture({ nComponents: 2 }).fit(twoClusters);
    const n = twoClusters.length;
    const logLik = gmm.score(twoClusters) * n;
    expect(gmm.nParameters).toBe(5);
    expect(Math.abs(gmm.bic(twoClusters) - (-2 * logLik + 5 * Math.log(n)))).toBeLessThan(1e-9);
    expect(Math.abs(gmm.aic(twoClusters) - (-2 * logLik + 10))).toBeLessThan(1e-9);
  });

  it("supports init 'random' (same optimum here: means within 1e-4 of the k-means start's)", () => {
    const kmeans = new GaussianMixture({ nComponents: 2, nInit: 3, tol: 1e-8, maxIter: 1000 }).fit(twoClusters);
    const random = new GaussianMixture({ nComponents: 2, nInit: 3, tol: 1e-8, maxIter: 1000, init: 'random' }).fit(
      twoClusters,
    );
    for (let j = 0; j < 2; j++) expect(Math.abs(random.means[j] - kmeans.means[j])).toBeLessThan(1e-4);
  });

  it('does not rerun an initialisation equal to an earlier one', () => {
    // Two far-apart clusters: every k-means start finds the same partition.
    const gmm = new GaussianMixture({ nComponents: 2, nInit: 6 }).fit(twoClusters);
    expect(gmm.emRuns).toBeGreaterThanOrEqual(1);
    expect(gmm.emRuns).toBeLessThan(6);
  });

  it('fits large inputs through the sampled warm start (n = 200,000; means within 0.005 of the truth)', () => {
    const x = drawMixture(200_000, 3, [
      { mean: 0.02, sd: 0.06, weight: 0.75 },
      { mean: 0.55, sd: 0.18, weight: 0.25 },
    ]);
    const gmm = new GaussianMixture({ nComponents: 2, nInit: 2 }).fit(x);
    expect(Math.abs(gmm.means[0] - 0.02)).toBeLessThan(0.005);
    expect(Math.abs(gmm.means[1] - 0.55)).toBeLessThan(0.005);
    // A long run from there gains almost nothing: the warm start stopped near the optimum (1e-5).
    const tight = new GaussianMixture({ nComponents: 2, nInit: 2, tol: 1e-10, maxIter: 2000 }).fit(x);
    expect(tight.score(x) - gmm.score(x)).toBeLessThan(1e-5);
  });
});

describe('GaussianMixture: bad input', () => {
  it('rejects an empty array and fewer samples than components', () => {
    expect(() => new GaussianMixture({ nComponents: 2 }).fit(new Float64Array(0))).toThrow(/empty array/);
    expect(() => new GaussianMixture({ nComponents: 3 }).fit([0.1, 0.2])).toThrow(
      'cannot fit 3 components to 2 samples',
    );
  });

  it('names the index and value of NaN or Infinity', () => {
    const gmm = new GaussianMixture({ nComponents: 2 });
    expect(() => gmm.fit([0.1, 0.2, Number.NaN, 0.4])).toThrow('x[2] is NaN; expected a finite number');
    expect(() => gmm.fit(Float32Array.of(0.1, Number.NEGATIVE_INFINITY))).toThrow('x[1] is -Infinity');
    const fitted = gmm.fit(twoClusters);
    expect(() => fitted.predictProba([0, Infinity])).toThrow('x[1] is Infinity');
  });

  it('validates options, naming the option', () => {
    expect(() => new GaussianMixture({ nComponents: 0 })).toThrow(/nComponents must be an integer >= 1/);
    expect(() => new GaussianMixture({ nInit: 1.5 })).toThrow(/nInit/);
    expect(() => new GaussianMixture({ maxIter: 0 })).toThrow(/maxIter/);
    expect(() => new GaussianMixture({ tol: -1 })).toThrow(/tol/);
    expect(() => new GaussianMixture({ regCovar: 0 })).toThrow(/regCovar/);
    expect(() => new GaussianMixture({ seed: 0.5 })).toThrow(/seed/);
    expect(() => new GaussianMixture({ init: 'kmeans++' as 'kmeans' })).toThrow(/init must be one of 'kmeans', 'random'/);
  });

  it('says when it is used before fit', () => {
    expect(() => new GaussianMixture().means).toThrow(/not fitted/);
  });

  it('fits all-equal values without blowing up: one effective component at the variance floor', () => {
    const x = new Float64Array(500).fill(0.25);
    const gmm = new GaussianMixture({ nComponents: 2, nInit: 3 }).fit(x);
    const heavy = gmm.weights[0] > gmm.weights[1] ? 0 : 1;
    expect(gmm.weights[heavy]).toBeGreaterThan(1 - 1e-9);
    expect(gmm.means[heavy]).toBe(0.25);
    expect(Math.abs(gmm.variances[heavy] - 1e-6)).toBeLessThan(1e-15);
    // log N(0.25 | 0.25, 1e-6) = -log(2 pi 1e-6) / 2 (within 1e-9)
    expect(Math.abs(gmm.score(x) + 0.5 * Math.log(2 * Math.PI * 1e-6))).toBeLessThan(1e-9);
    const all = [...gmm.means, ...gmm.variances, ...gmm.weights, ...gmm.predictProba(x)];
    expect(all.every(Number.isFinite)).toBe(true);
  });

  it('stays finite with extreme outliers (1e6 and -1e9 among gaps in [-1, 1])', () => {
    const x = Float64Array.from(twoClusters);
    x[10] = 1e6;
    x[20] = -1e9;
    const gmm = new GaussianMixture({ nComponents: 2, nInit: 3 }).fit(x);
    const all = [...gmm.means, ...gmm.variances, ...gmm.weights, ...gmm.predictProba(x), ...gmm.scoreSamples(x)];
    expect(all.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(gmm.bic(x))).toBe(true);
  });

  it('reports an overflow instead of returning NaN when the data span too wide a range', () => {
    expect(() => new GaussianMixture({ nComponents: 2 }).fit([0, 0, 1e200, 1e200, -1e200])).toThrow(/overflowed/);
  });
});
