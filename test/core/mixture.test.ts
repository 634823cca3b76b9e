import { describe, expect, it } from 'vitest';
import { linspace, mixtureDensity } from '../../src/core/index.js';

describe('mixtureDensity', () => {
  const params = {
    means: Float64Array.of(0, 0.6),
    variances: Float64Array.of(0.0025, 0.01),
    weights: Float64Array.of(0.7, 0.3),
  };

  it('evaluates w N(x | mu, var) per component and their sum (1e-12)', () => {
    const grid = Float64Array.of(0, 0.6);
    const { total, components } = mixtureDensity(params, grid);
    const normal = (x: number, m: number, v: number): number => Math.exp(-((x - m) ** 2) / (2 * v)) / Math.sqrt(2 * Math.PI * v);
    expect(Math.abs(components[0] - 0.7 * normal(0, 0, 0.0025))).toBeLessThan(1e-12);
    expect(Math.abs(components[3] - 0.3 * normal(0.6, 0.6, 0.01))).toBeLessThan(1e-12);
    expect(Math.abs(total[1] - components[1] - components[3])).toBeLessThan(1e-12);
  });

  it('integrates to 1 over a wide grid (trapezoid rule, 1e-6)', () => {
    const grid = linspace(-1, 2, 30_001);
    const { total } = mixtureDensity(params, grid);
    let integral = 0;
    for (let t = 1; t < grid.length; t++) integral += 0.5 * (total[t] + total[t - 1]) * (grid[t] - grid[t - 1]);
    expect(Math.abs(integral - 1)).toBeLessThan(1e-6);
  });
});

describe('linspace', () => {
  it('includes both ends with equal steps', () => {
    expect(Array.from(linspace(-1, 1, 5))).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(() => linspace(0, 1, 1)).toThrow(/n >= 2/);
    expect(() => linspace(0, Number.NaN, 3)).toThrow(/finite/);
  });
});
