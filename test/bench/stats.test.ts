import { describe, expect, it } from 'vitest';
import { median, ratioInterval95 } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('median takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('ratioInterval95 equals scipy: exp(mean log r +- t(0.975, n-1) sd / sqrt(n))', () => {
    // Reference: scipy.stats.t.ppf on the logs (/usr/bin/python3, scipy 1.10).
    const five = ratioInterval95([1.10, 0.95, 1.02, 0.99, 1.05]);
    [1.0207236823300105, 0.9523167769222957, 1.0940443987939406].forEach((x, i) => expect(five[i]).toBeCloseTo(x, 4));
    const two = ratioInterval95([0.9, 1.2]);
    [1.0392304845413265, 0.16709493831055852, 6.463391476244112].forEach((x, i) => expect(two[i]).toBeCloseTo(x, 3));
  });

  it('ratioInterval95 refuses fewer than 2 ratios and non-positive ones', () => {
    expect(() => ratioInterval95([1.0])).toThrow(/at least 2 positive ratios/);
    expect(() => ratioInterval95([1.0, 0])).toThrow(/at least 2 positive ratios/);
    expect(() => ratioInterval95([1.0, Number.NaN])).toThrow(/at least 2 positive ratios/);
  });
});
