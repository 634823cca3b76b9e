import { describe, expect, it } from 'vitest';
import { SeededRandom, correctnessOf, mcnemarExact, pairedComparison, std } from '../../src/core/index.js';

/**
 * [b, c, p] with p = scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue (two-sided; 1 for b + c = 0),
 * printed by `/usr/bin/python3 test/core/compare_reference.py` (Debian python3-scipy 1.10.1), which
 * also checks each value with b + c <= 20000 against exact rational arithmetic. The zeros are true
 * underflows (p far below the smallest double); 1.61895e-319 = 2^-1059 is subnormal.
 */
const MCNEMAR_REFERENCE: readonly (readonly [number, number, number])[] = [
  [0, 0, 1.0],
  [0, 5, 0.0625],
  [3, 3, 1.0],
  [10, 2, 0.03857421875],
  [40, 25, 0.08168153394154003],
  [500, 430, 0.023608839292547177],
  [100000, 99000, 0.02512721768836082],
  [1, 0, 1.0],
  [2, 1, 1.0],
  [7, 3, 0.34375],
  [1, 20, 2.09808349609375e-5],
  [250, 350, 5.114064866353935e-5],
  [5000, 4800, 0.04440414879984629],
  [20, 1000, 9.197094102307782e-266],
  [0, 1000, 1.8665272370064378e-301],
  [499000, 501000, 0.045608299865389515],
  [490000, 510000, 5.544363287698749e-89],
  [485000, 515000, 9.45240625258449e-198],
  [450000, 550000, 0.0],
  [3, 2500, 0.0],
  [0, 1060, 1.61895e-319],
];

/** n independent Bernoulli(p) draws as 0/1. */
function bernoulli(rng: SeededRandom, n: number, p: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform() < p ? 1 : 0;
  return out;
}

/** Each value repeated k times in a row: [x0 x0 x0 x1 x1 x1 ...]. */
function repeatEach(x: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(x.length * k);
  for (let i = 0; i < out.length; i++) out[i] = x[Math.floor(i / k)] as number;
  return out;
}

describe('mcnemarExact', () => {
  it('matches scipy.stats.binomtest (two-sided) to 1e-9 relative, 1e-300 absolute', () => {
    for (const [b, c, expected] of MCNEMAR_REFERENCE) {
      for (const p of [mcnemarExact(b, c), mcnemarExact(c, b)]) {
        const error = Math.abs(p - expected);
        if (!(error <= 1e-9 * expected || error <= 1e-300)) {
          throw new Error(`mcnemarExact(${b}, ${c}) = ${p}, scipy ${expected}`);
        }
      }
    }
  });

  it('stays in (0, 1] and falls as the discordance grows at fixed b + c', () => {
    let previous = 1;
    for (let b = 1000; b >= 500; b -= 25) {
      const p = mcnemarExact(b, 2000 - b);
      expect(p).toBeLessThanOrEqual(previous);
      expect(p).toBeGreaterThan(0);
      previous = p;
    }
    expect(mcnemarExact(1000, 1000)).toBe(1);
  });

  it('rejects counts that are not non-negative integers', () => {
    expect(() => mcnemarExact(-1, 3)).toThrow(RangeError);
    expect(() => mcnemarExact(2.5, 3)).toThrow(/b must be an integer/);
    expect(() => mcnemarExact(2, Number.NaN)).toThrow(/c must be an integer/);
  });
});

describe('pairedComparison', () => {
  it('counts accuracies and discordant pairs of a hand-worked case', () => {
    const a = Uint8Array.of(1, 1, 0, 1, 0, 1);
    const b = Uint8Array.of(1, 0, 0, 0, 1, 1);
    const r = pairedComparison(a, b, { resamples: 200 });
    expect(r.n).toBe(6);
    expect(r.clusterCount).toBe(6);
    expect(r.accA).toBe(4 / 6);
    expect(r.accB).toBe(3 / 6);
    expect(r.diff).toBe(4 / 6 - 3 / 6);
    expect(r.discordantAB).toBe(2);
    expect(r.discordantBA).toBe(1);
    expect(r.mcnemarP).toBe(mcnemarExact(2, 1));
    // Each resample is the mean of six values in {-1, 0, 1}.
    for (const x of [r.lo, r.hi]) {
      expect(x).toBeGreaterThanOrEqual(-1);
      expect(x).toBeLessThanOrEqual(1);
    }
  });

  it('gives diff = accA - accB exactly and an interval around it', () => {
    const rng = new SeededRandom(11);
    const a = bernoulli(rng, 777, 0.71);
    const b = bernoulli(rng, 777, 0.64);
    const r = pairedComparison(a, b, { seed: 3 });
    expect(r.diff).toBe(r.accA - r.accB);
    expect(r.lo).toBeLessThan(r.diff);
    expect(r.hi).toBeGreaterThan(r.diff);
    expect(Math.abs((r.lo + r.hi) / 2 - r.diff)).toBeLessThan(0.1 * (r.hi - r.lo));
  });

  it('gives [0, 0] and p = 1 for identical classifiers', () => {
    const a = bernoulli(new SeededRandom(5), 300, 0.6);
    const r = pairedComparison(a, a.slice());
    expect([r.diff, r.lo, r.hi, r.mcnemarP]).toEqual([0, 0, 0, 1]);
  });

  it('has one possible resample for a single row', () => {
    const r = pairedComparison(Uint8Array.of(1), Uint8Array.of(0), { resamples: 50 });
    expect([r.diff, r.lo, r.hi]).toEqual([1, 1, 1]);
  });

  it('has the normal-approximation width for independent Bernoulli A and B (n = 2000, within 10 %)', () => {
    const rng = new SeededRandom(2024);
    const n = 2000;
    const a = bernoulli(rng, n, 0.8);
    const b = bernoulli(rng, n, 0.7);
    const d = Float64Array.from(a, (x, i) => x - (b[i] as number));
    const expected = (2 * 1.959963984540054 * std(d)) / Math.sqrt(n);
    const r = pairedComparison(a, b, { seed: 1 });
    expect(Math.abs(r.hi - r.lo - expected) / expected).toBeLessThan(0.1);
    // A narrower level gives a nested interval.
    const r50 = pairedComparison(a, b, { seed: 1, level: 0.5 });
    expect(r50.lo).toBeGreaterThan(r.lo);
    expect(r50.hi).toBeLessThan(r.hi);
    expect((r50.hi - r50.lo) / (r.hi - r.lo)).toBeCloseTo(0.6745 / 1.96, 1);
  });

  it('keeps positively correlated pairs sharper than independent ones (the point of pairing)', () => {
    const rng = new SeededRandom(8);
    const n = 2000;
    const a = bernoulli(rng, n, 0.8);
    // B agrees with A except on a few rows: same accuracy gap scale, far smaller variance of a - b.
    const b = Uint8Array.from(a, (x) => (rng.uniform() < 0.05 ? 1 - x : x));
    const paired = pairedComparison(a, b);
    const shuffled = pairedComparison(a, b.slice().reverse());
    expect(paired.hi - paired.lo).toBeLessThan(0.5 * (shuffled.hi - shuffled.lo));
  });

  it('moves duplicated rows as one cluster and counts them as independent without clusters', () => {
    const rng = new SeededRandom(77);
    const n = 1500;
    const k = 4;
    const a = bernoulli(rng, n, 0.75);
    const b = bernoulli(rng, n, 0.7);
    const base = pairedComparison(a, b, { seed: 9 });

    // Row r repeated k times (say k seeds of one test sample), all with cluster id r.
    const aK = repeatEach(a, k);
    const bK = repeatEach(b, k);
    const ids = Int32Array.from({ length: n * k }, (_, i) => Math.floor(i / k));
    const clustered = pairedComparison(aK, bK, { clusters: ids, seed: 9 });
    expect(clustered.n).toBe(n * k);
    expect(clustered.clusterCount).toBe(n);
    expect(clustered.diff).toBeCloseTo(base.diff, 14);
    expect(Math.abs(clustered.lo - base.lo)).toBeLessThan(1e-12);
    expect(Math.abs(clustered.hi - base.hi)).toBeLessThan(1e-12);
    expect([clustered.discordantAB, clustered.discordantBA]).toEqual([k * base.discordantAB, k * base.discordantBA]);

    // The same rows as n * k independent samples: an interval about sqrt(k) = 2 times narrower.
    const naive = pairedComparison(aK, bK, { seed: 9 });
    const ratio = (base.hi - base.lo) / (naive.hi - naive.lo);
    expect(ratio).toBeGreaterThan(Math.sqrt(k) * 0.9);
    expect(ratio).toBeLessThan(Math.sqrt(k) * 1.1);
  });

  it('depends only on which rows share an id, not on the id values (unequal cluster sizes)', () => {
    const rng = new SeededRandom(31);
    const n = 900;
    const a = bernoulli(rng, n, 0.6);
    const b = bernoulli(rng, n, 0.55);
    const ids = Int32Array.from({ length: n }, () => rng.uniformInt(250));
    const relabelled = Int32Array.from(ids, (id) => -7 * id - 1_000_000);
    const r1 = pairedComparison(a, b, { clusters: ids, seed: 4 });
    const r2 = pairedComparison(a, b, { clusters: relabelled, seed: 4 });
    expect(r2).toEqual(r1);
    expect(r1.clusterCount).toBe(new Set(ids).size);
    expect(r1.lo).toBeLessThan(r1.diff);
    expect(r1.hi).toBeGreaterThan(r1.diff);
  });

  it('also resamples more than 2^21 clusters (the uniformInt path)', () => {
    const rng = new SeededRandom(6);
    const n = (1 << 21) + 5;
    const a = bernoulli(rng, n, 0.9);
    const b = bernoulli(rng, n, 0.5);
    const r = pairedComparison(a, b, { resamples: 4 });
    expect(r.lo).toBeLessThanOrEqual(r.hi);
    expect(Math.abs(r.lo - r.diff)).toBeLessThan(0.003);
    expect(Math.abs(r.hi - r.diff)).toBeLessThan(0.003);
  });

  it('is deterministic for a seed and changes with it', () => {
    const rng = new SeededRandom(3);
    const n = 400;
    const a = bernoulli(rng, n, 0.7);
    const b = bernoulli(rng, n, 0.6);
    // Unequal cluster sizes, so that resampled differences do not sit on a lattice of 1/n.
    const clusters = Int32Array.from({ length: n }, () => rng.uniformInt(150));
    const r1 = pairedComparison(a, b, { clusters, seed: 123 });
    expect(pairedComparison(a, b, { clusters, seed: 123 })).toEqual(r1);
    const r2 = pairedComparison(a, b, { clusters, seed: 124 });
    expect(r2.lo).not.toBe(r1.lo);
    expect(r2.hi).not.toBe(r1.hi);
    expect(r2.diff).toBe(r1.diff);
  });

  it('rejects malformed input', () => {
    const a = Uint8Array.of(1, 0, 1);
    const b = Uint8Array.of(0, 0, 1);
    expect(() => pairedComparison(a, Uint8Array.of(1, 0))).toThrow(/differ in length: 3 vs 2/);
    expect(() => pairedComparison(new Uint8Array(0), new Uint8Array(0))).toThrow(/empty/);
    expect(() => pairedComparison(Uint8Array.of(1, 2, 0), b)).toThrow('correctA[1] is 2; expected 0 or 1');
    expect(() => pairedComparison(a, Uint8Array.of(0, 0, 255))).toThrow('correctB[2] is 255');
    for (const level of [0, 1, -0.5, 1.5, Number.NaN]) {
      expect(() => pairedComparison(a, b, { level })).toThrow(/level must be a number in \(0, 1\)/);
    }
    for (const resamples of [0, -5, 2.5, Number.POSITIVE_INFINITY]) {
      expect(() => pairedComparison(a, b, { resamples })).toThrow(/resamples must be an integer >= 1/);
    }
    expect(() => pairedComparison(a, b, { clusters: Int32Array.of(0, 1) })).toThrow(/clusters has length 2/);
    expect(() => pairedComparison(a, b, { seed: 0.5 })).toThrow(RangeError);
  });
});

describe('correctnessOf', () => {
  it('flags the rows where the prediction equals the label', () => {
    const labels = Int32Array.of(0, 1, 2, 2, 1);
    const predicted = Int32Array.of(0, 2, 2, 1, 1);
    expect(Array.from(correctnessOf(labels, predicted))).toEqual([1, 0, 1, 0, 1]);
    expect(() => correctnessOf(labels, Int32Array.of(0))).toThrow(/differ in length: 5 vs 1/);
  });
});
