// k-means on [n x d] rows: closed forms on separated blobs, and scikit-learn's KMeans (Lloyd) from
// the same initial centres on overlapping clusters: the same labels, centres and inertia to 1e-9.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/index.js';
import { kmeans } from '../../src/core/kmeans.js';
import { runPython, tempDir } from '../helpers/python.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** n rows of d dimensions around k random centres (spread 1.5 against centres drawn in [-3, 3]: the clusters overlap). */
function overlapping(rng: SeededRandom, n: number, d: number, k: number): Float64Array {
  const centres = Array.from({ length: k * d }, () => rng.uniform(-3, 3));
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    for (let j = 0; j < d; j++) x[i * d + j] = (centres[c * d + j] as number) + 1.5 * rng.normal();
  }
  return x;
}

describe('k-means', () => {
  it('finds well-separated blobs: one cluster per blob, centres the blob means, inertia in closed form; seeded', () => {
    const offsets = [[0, 0], [0.3, 0], [0, 0.3], [0.3, 0.3]];
    const blobs = [[0, 0], [10, 0], [0, 10]];
    const rows = blobs.flatMap(([x, y]) => offsets.map(([a, b]) => [(x as number) + (a as number), (y as number) + (b as number)]));
    const r = kmeans(rows.flat(), 12, 2, 3, { seed: 1, runs: 3 });
    const clusterOfBlob = blobs.map((_, b) => r.labels[4 * b] as number);
    blobs.forEach((_, b) => expect(Array.from(r.labels.subarray(4 * b, 4 * b + 4))).toEqual([0, 1, 2, 3].map(() => clusterOfBlob[b])));
    expect(new Set(clusterOfBlob).size).toBe(3);
    const centres = Array.from({ length: 3 }, (_, c) => [r.centres[2 * c] as number, r.centres[2 * c + 1] as number]).sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
    expect(maxAbsDiff(centres.flat(), [0.15, 0.15, 0.15, 10.15, 10.15, 0.15])).toBeLessThan(1e-12);
    // Each point is 0.15 * sqrt(2) from its blob's mean.
    expect(r.inertia).toBeCloseTo(12 * 2 * 0.15 ** 2, 10);
    expect(Array.from(kmeans(rows.flat(), 12, 2, 3, { seed: 1, runs: 3 }).labels)).toEqual(Array.from(r.labels));
  });

  it('stays finite when there are fewer distinct points than clusters (duplicates)', () => {
    const r = kmeans([0, 0, 0, 0, 1, 1], 6, 1, 3, { seed: 0, runs: 1 });
    expect(Array.from(r.centres).every(Number.isFinite)).toBe(true);
    expect(Array.from(r.labels).every((c) => c >= 0 && c < 3)).toBe(true);
    expect(r.labels[0]).not.toBe(r.labels[4]);
    expect(r.inertia).toBe(0);
  });

  it('refuses impossible shapes, naming them', () => {
    expect(() => kmeans([0, 1], 2, 1, 3)).toThrow(/2 rows cannot make 3 clusters/);
    expect(() => kmeans([0, 1, 2], 2, 1, 1)).toThrow(/3 values are not 2 x 1/);
    expect(() => kmeans([0, 1, 2, 3], 4, 1, 2, { init: [0] })).toThrow(/init has 1 values, not 2 centres x 1/);
  });

  it("equals scikit-learn's KMeans (lloyd, tol 1e-4) from the same initial centres: labels, centres and inertia to 1e-9", () => {
    const rng = new SeededRandom(7);
    const cases = [
      { n: 300, d: 2, k: 3 },
      { n: 400, d: 3, k: 5 },
      { n: 250, d: 8, k: 4 },
    ].map(({ n, d, k }) => {
      const x = overlapping(rng, n, d, k);
      // Initial centres: k distinct rows, as k-means++ would pick.
      const rows = rng.permutation(n).subarray(0, k);
      const init = Float64Array.from(Array.from(rows).flatMap((r) => Array.from(x.subarray(r * d, r * d + d))));
      return { n, d, k, x, init };
    });
    const file = join(tempDir(), 'cases.json');
    writeFileSync(file, JSON.stringify(cases.map((c) => ({ d: c.d, k: c.k, x: Array.from(c.x), init: Array.from(c.init) }))));
    const ref = JSON.parse(runPython(`
import json
import numpy as np
from sklearn.cluster import KMeans
out = []
for c in json.load(open(sys.argv[1])):
    x = np.array(c['x']).reshape(-1, c['d'])
    init = np.array(c['init']).reshape(c['k'], c['d'])
    km = KMeans(n_clusters=c['k'], init=init, n_init=1, max_iter=300, tol=1e-4, algorithm='lloyd').fit(x)
    out.append({'labels': km.labels_.tolist(), 'centres': km.cluster_centers_.ravel().tolist(), 'inertia': float(km.inertia_), 'iterations': int(km.n_iter_)})
print(json.dumps(out))
`, [file])) as { labels: number[]; centres: number[]; inertia: number; iterations: number }[];
    cases.forEach((c, i) => {
      const want = ref[i]!;
      const got = kmeans(c.x, c.n, c.d, c.k, { init: c.init });
      // Several centre updates: the comparison is of the iterations, not of the start.
      expect(want.iterations, `case ${i}`).toBeGreaterThan(3);
      expect(Array.from(got.labels), `case ${i}`).toEqual(want.labels);
      expect(maxAbsDiff(got.centres, want.centres), `case ${i}`).toBeLessThan(1e-9);
      expect(Math.abs(got.inertia - want.inertia) / want.inertia, `case ${i}`).toBeLessThan(1e-9);
    });
  });
});
