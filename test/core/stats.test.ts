import { describe, expect, it } from 'vitest';
import { SeededRandom, auroc, histogram, mean, shareAbove, std, variance } from '../../src/core/index.js';

describe('moments and shares', () => {
  it('computes mean, population and sample variance, std (1e-12)', () => {
    const x = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(x)).toBe(5);
    expect(variance(x)).toBe(4);
    expect(std(x)).toBe(2);
    expect(Math.abs(variance(x, 1) - 32 / 7)).toBeLessThan(1e-12);
    expect(mean([])).toBeNaN();
    expect(variance([1], 1)).toBeNaN();
  });

  it('counts the share strictly above a threshold', () => {
    expect(shareAbove(Float64Array.of(0.1, 0.5, 0.51, 0.9))).toBe(0.5);
    expect(shareAbove([0.2, 0.8], 0.1)).toBe(1);
    expect(shareAbove([])).toBeNaN();
  });
});

describe('histogram', () => {
  it('counts fixed bins over [-1, 1] by default, numpy-style (last bin closed)', () => {
    const { counts, edges, below, above } = histogram([-1, -0.5, -0.25, 0, 0.5, 1, 1.5, -2], { bins: 4 });
    expect(Array.from(edges)).toEqual([-1, -0.5, 0, 0.5, 1]);
    // [-1,-0.5): -1 | [-0.5,0): -0.5, -0.25 | [0,0.5): 0 | [0.5,1]: 0.5, 1
    expect(Array.from(counts)).toEqual([1, 2, 1, 2]);
    expect(below).toBe(1);
    expect(above).toBe(1);
  });

  it('agrees with its own edges for values on and next to every edge (edges[b] <= v < edges[b + 1])', () => {
    const values: number[] = [];
    for (let b = 0; b <= 10; b++) values.push(b / 10, b / 10 - 1e-17, b / 10 + 1e-17, 0.1 * b);
    const inRange = values.filter((v) => v >= 0 && v <= 1);
    const { counts, edges } = histogram(inRange, { bins: 10, range: [0, 1] });
    const expected = new Array<number>(10).fill(0);
    for (const v of inRange) {
      let b = 0;
      while (b < 9 && v >= edges[b + 1]) b++;
      expected[b]++;
    }
    expect(Array.from(counts)).toEqual(expected);
  });

  it('validates its options and the data', () => {
    expect(() => histogram([0], { bins: 0 })).toThrow(/bins/);
    expect(() => histogram([0], { range: [1, 1] })).toThrow(/range/);
    expect(() => histogram([0, Number.NaN])).toThrow('x[1] is NaN');
  });
});

describe('auroc', () => {
  it('matches hand-worked values', () => {
    expect(auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
    expect(auroc([0.9, 0.8, 0.1], [1, 1, 0])).toBe(1);
    expect(auroc([0.9, 0.8, 0.1], [0, 0, 1])).toBe(0);
  });

  it('counts ties as one half (average ranks)', () => {
    expect(auroc([0.5, 0.5], [true, false])).toBe(0.5);
    // pairs (pos, neg): (0.5, 0.5) = 1/2, (0.5, 0.2) = 1, (0.9, 0.5) = 1, (0.9, 0.2) = 1 -> 3.5 / 4
    expect(auroc([0.5, 0.9, 0.5, 0.2], [1, 1, 0, 0])).toBe(0.875);
  });

  it('equals the closed form n(n+1)/2 / n^2 for interleaved scores', () => {
    const n = 1000;
    const scores: number[] = [];
    const labels: boolean[] = [];
    for (let i = 0; i < n; i++) {
      scores.push(i, i + 0.5);
      labels.push(false, true);
    }
    expect(Math.abs(auroc(scores, labels) - (n * (n + 1)) / 2 / (n * n))).toBeLessThan(1e-12);
  });

  it('approaches Phi(delta / sqrt(2)) for unit normals shifted by delta = 1 (0.01 on 2 x 20k samples)', () => {
    const rng = new SeededRandom(5);
    const scores = new Float64Array(40_000);
    const labels = new Uint8Array(40_000);
    for (let i = 0; i < 40_000; i++) {
      labels[i] = i % 2;
      scores[i] = rng.normal() + labels[i];
    }
    expect(Math.abs(auroc(scores, labels) - 0.7602499389065233)).toBeLessThan(0.01);
  });

  it('is NaN when one class is empty, and checks lengths and values', () => {
    expect(auroc([0.1, 0.2], [true, true])).toBeNaN();
    expect(auroc([0.1, 0.2], [0, 0])).toBeNaN();
    expect(() => auroc([0.1], [true, false])).toThrow(/differ in length/);
    expect(() => auroc([0.1, Number.NaN], [true, false])).toThrow('scores[1] is NaN');
  });
});
