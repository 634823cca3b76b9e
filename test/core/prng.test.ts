import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/index.js';

describe('SeededRandom', () => {
  it('repeats its stream for the same seed and differs for another', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const streamA = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(streamA);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(streamA);
  });

  it('accepts negative and large safe-integer seeds, rejects others', () => {
    expect(new SeededRandom(-1).uniform()).not.toBe(new SeededRandom(2 ** 40).uniform());
    expect(() => new SeededRandom(0.5)).toThrow(/seed must be a safe integer/);
    expect(() => new SeededRandom(Number.NaN)).toThrow(/seed/);
  });

  it('draws uniforms in [0, 1) with mean 1/2 and variance 1/12 (tolerance 0.005 on 100k draws)', () => {
    const rng = new SeededRandom(1);
    const n = 100_000;
    let sum = 0;
    let squares = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      squares += u * u;
    }
    const mean = sum / n;
    expect(outside).toBe(0);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(squares / n - mean * mean - 1 / 12)).toBeLessThan(0.005);
  });

  it('draws integers in range and covers it', () => {
    const rng = new SeededRandom(2);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(rng.uniformInt(7));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => rng.uniformInt(0)).toThrow(/positive integer/);
  });

  it('draws standard normals (mean within 0.01, variance within 0.02 on 100k draws)', () => {
    const rng = new SeededRandom(3);
    const n = 100_000;
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      squares += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(squares / n - 1)).toBeLessThan(0.02);
  });
});
