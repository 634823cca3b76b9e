import { describe, expect, it } from 'vitest';
import { EmWorkspace } from '../../src/core/gmm-em.js';
import { SeededRandom } from '../../src/core/index.js';
import { KMeansInitializer } from '../../src/core/kmeans1d.js';

describe('KMeansInitializer', () => {
  it('starts EM from the k-means partition: its weights, means and variances (+ regCovar), 1e-12', () => {
    // Unsorted on purpose; two obvious clusters {0, 0.1, 0.2} and {5, 6}.
    const x = Float64Array.of(5, 0.1, 6, 0, 0.2);
    const params = new KMeansInitializer(x).initialParams(2, new SeededRandom(0), 1e-6, new EmWorkspace(2));
    const expected = { means: [0.1, 5.5], variances: [0.02 / 3 + 1e-6, 0.25 + 1e-6], weights: [0.6, 0.4] };
    for (const key of ['means', 'variances', 'weights'] as const) {
      expected[key].forEach((e, j) => expect(Math.abs(params[key][j] - e)).toBeLessThan(1e-12));
    }
  });

  it('gives bitwise-equal parameters for equal partitions from different seeds', () => {
    const rng = new SeededRandom(1);
    const x = Float64Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 0 : 1) + 0.05 * rng.normal());
    const init = new KMeansInitializer(x);
    const work = new EmWorkspace(2);
    const a = init.initialParams(2, new SeededRandom(10), 1e-6, work);
    const b = init.initialParams(2, new SeededRandom(11), 1e-6, work);
    expect(Array.from(a.means)).toEqual(Array.from(b.means));
    expect(Array.from(a.variances)).toEqual(Array.from(b.variances));
  });

  it('keeps an empty cluster finite when all values are equal', () => {
    const params = new KMeansInitializer(new Float64Array(10).fill(3)).initialParams(
      2,
      new SeededRandom(0),
      1e-6,
      new EmWorkspace(2),
    );
    expect([...params.means, ...params.variances, ...params.weights].every(Number.isFinite)).toBe(true);
    expect(Math.max(...params.weights)).toBeGreaterThan(1 - 1e-12);
  });
});
