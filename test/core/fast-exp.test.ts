import { describe, expect, it } from 'vitest';
import { expNonPositive } from '../../src/core/fast-exp.js';
import { SeededRandom } from '../../src/core/index.js';

describe('expNonPositive', () => {
  it('agrees with Math.exp within 1e-15 relative error over [-708, 0]', () => {
    const rng = new SeededRandom(9);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const v = -708 * rng.uniform() ** 3; // dense near 0, where the E step lives
      worst = Math.max(worst, Math.abs(expNonPositive(v) - Math.exp(v)) / Math.exp(v));
    }
    expect(worst).toBeLessThan(1e-15);
  });

  it('handles the ends: 0, underflow, -Infinity, NaN', () => {
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-0)).toBe(1);
    expect(expNonPositive(-746)).toBe(0);
    expect(expNonPositive(-Infinity)).toBe(0);
    expect(expNonPositive(Number.NaN)).toBeNaN();
    // Subnormal results stay within an absolute 1e-320 of Math.exp.
    expect(Math.abs(expNonPositive(-740) - Math.exp(-740))).toBeLessThan(1e-320);
  });
});
