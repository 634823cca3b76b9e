import { describe, expect, it } from 'vitest';
import { GaussianMixture } from '../../src/core/index.js';
import { loadGmmFixtures, parseSettings } from './shared-fixtures.js';

/** Our fit may not be worse than scikit-learn's mean log-likelihood by more than this. */
const LOGLIK_TOLERANCE = 1e-6;
/** Parameters and posteriors must match scikit-learn's within this where the components are separated. */
const PARAM_TOLERANCE = 1e-3;
const SEPARATED_CASES = new Set(['separated', 'skewed_weights', 'bounded_gap', 'tiny']);

const fixtures = loadGmmFixtures();

describe('GaussianMixture against the scikit-learn fixtures', () => {
  it('finds every fixture', () => {
    expect(fixtures.map((f) => f.name)).toEqual(
      expect.arrayContaining([...SEPARATED_CASES, 'overlapping', 'signed_gap', 'unimodal']),
    );
  });

  for (const fixture of fixtures) {
    describe(fixture.name, () => {
      const settings = parseSettings(fixture.sklearn.settings);
      const options = {
        nComponents: settings.n_components,
        nInit: settings.n_init,
        maxIter: settings.max_iter,
        tol: settings.tol,
        regCovar: settings.reg_covar,
        seed: 0,
      };
      const x = Float64Array.from(fixture.x);
      const gmm = new GaussianMixture(options).fit(x);
      const single = new GaussianMixture({ ...options, nComponents: 1 }).fit(x);

      it('uses the fixture settings', () => {
        expect(options).toEqual({ nComponents: 2, nInit: 20, maxIter: 2000, tol: 1e-8, regCovar: 1e-6, seed: 0 });
      });

      it(`reaches scikit-learn's mean log-likelihood (tolerance ${LOGLIK_TOLERANCE})`, () => {
        expect(gmm.score(x)).toBeGreaterThanOrEqual(fixture.sklearn.mean_loglik_per_sample - LOGLIK_TOLERANCE);
        expect(gmm.converged).toBe(true);
      });

      it('prefers 2 components by BIC exactly where scikit-learn does', () => {
        const bic1 = single.bic(x);
        const bic2 = gmm.bic(x);
        expect(bic2 < bic1).toBe(fixture.sklearn.bic_2 < fixture.sklearn.bic_1);
        // The 1-component fit is closed form: same BIC up to rounding (absolute 1e-6).
        expect(Math.abs(bic1 - fixture.sklearn.bic_1)).toBeLessThan(1e-6);
        // A likelihood at least as high gives a BIC at most scikit-learn's (+ 2 n * tolerance).
        expect(bic2).toBeLessThanOrEqual(fixture.sklearn.bic_2 + 2 * x.length * LOGLIK_TOLERANCE);
      });

      if (SEPARATED_CASES.has(fixture.name)) {
        it(`matches parameters and posteriors within ${PARAM_TOLERANCE}`, () => {
          const sk = fixture.sklearn;
          for (let j = 0; j < 2; j++) {
            expect(Math.abs(gmm.means[j] - sk.means[j])).toBeLessThan(PARAM_TOLERANCE);
            expect(Math.abs(gmm.variances[j] - sk.variances[j])).toBeLessThan(PARAM_TOLERANCE);
            expect(Math.abs(gmm.weights[j] - sk.weights[j])).toBeLessThan(PARAM_TOLERANCE);
          }
          const posteriors = gmm.predictProba(x);
          let worst = 0;
          sk.posteriors_sorted_by_mean.forEach((row, i) => {
            for (let j = 0; j < 2; j++) worst = Math.max(worst, Math.abs(posteriors[i * 2 + j] - row[j]));
          });
          expect(worst).toBeLessThan(PARAM_TOLERANCE);
        });
      }
    });
  }
});
