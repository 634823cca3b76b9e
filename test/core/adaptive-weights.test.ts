import { describe, expect, it } from 'vitest';
import {
  adaptiveLossReference,
  alignTargets,
  alignWeights,
  fusionWeights,
  gapWeights,
} from '../../src/core/adaptive-weights.js';

/** Hand-worked decimals, compared within 1e-12. */
const EPS = 1e-12;
const close = (actual: ArrayLike<number>, expected: number[]): void => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i] - e)).toBeLessThan(EPS));
};

describe('per-sample weights', () => {
  const gamma = [0, 0.25, 1];

  it('fusion weight 1 + beta (1 - gamma)', () => close(fusionWeights(gamma, 2), [3, 2.5, 1]));
  it('gap weight 1 + kappa gamma', () => close(gapWeights(gamma, 0.5), [1, 1.125, 1.5]));
  it('kappa -1 spares the imbalanced: weight 1 - gamma', () => close(gapWeights(gamma, -1), [1, 0.75, 0]));
  it('align weight gamma', () => close(alignWeights(gamma), [0, 0.25, 1]));
  it('align target ((d - muBal) / sigmaBal)^2', () => close(alignTargets([0.1, 0.5, -0.2], 0.1, 0.2), [0, 4, 2.25]));

  it('rejects gamma outside [0, 1] and a non-positive sigmaBal, naming them', () => {
    expect(() => fusionWeights([0.5, 1.5], 1)).toThrow('gamma[1] is 1.5; expected a value in [0, 1]');
    expect(() => gapWeights([0.5], -1.5)).toThrow(/kappa/);
    expect(() => alignTargets([0.1], 0, 0)).toThrow(/sigmaBal/);
  });
});

describe('adaptiveLossReference', () => {
  it('evaluates the three terms of the adaptive loss (hand-worked)', () => {
    const inputs = {
      crossEntropy: [1, 2],
      gapPenalty: [0.5, 0.1],
      gaps: [0.5, 0.1],
      gamma: [1, 0],
    };
    const value = adaptiveLossReference(inputs, { muBal: 0.1, sigmaBal: 0.2 }, { beta: 1, kappa: 1, lambdaGap: 0.5, lambdaAlign: 0.1 });
    // fusion: mean(1 * 1, 2 * 2) = 2.5; gap: 0.5 * mean(2 * 0.5, 1 * 0.1) = 0.275;
    // align: 0.1 * mean(1 * 4, 0 * 0) = 0.2
    expect(Math.abs(value.fusion - 2.5)).toBeLessThan(EPS);
    expect(Math.abs(value.gap - 0.275)).toBeLessThan(EPS);
    expect(Math.abs(value.align - 0.2)).toBeLessThan(EPS);
    expect(Math.abs(value.total - 2.975)).toBeLessThan(EPS);
  });

  it('reduces to plain mean CE when beta = lambdaGap = lambdaAlign = 0', () => {
    const value = adaptiveLossReference(
      { crossEntropy: [1, 3], gapPenalty: [0.4, 0.4], gaps: [0.4, 0.4], gamma: [0.3, 0.9] },
      { muBal: 0, sigmaBal: 1 },
      { beta: 0, kappa: 1, lambdaGap: 0, lambdaAlign: 0 },
    );
    expect(value.total).toBe(2);
  });

  it('rejects a negative weight, naming it', () => {
    expect(() => adaptiveLossReference({ crossEntropy: [1], gapPenalty: [0], gaps: [0], gamma: [0] }, { muBal: 0, sigmaBal: 1 }, { beta: -1, kappa: 1, lambdaGap: 1, lambdaAlign: 1 }))
      .toThrow(/beta/);
  });

  it('checks lengths', () => {
    expect(() =>
      adaptiveLossReference({ crossEntropy: [1], gapPenalty: [0, 0], gaps: [0], gamma: [0] }, { muBal: 0, sigmaBal: 1 }, { beta: 1, kappa: 1, lambdaGap: 1, lambdaAlign: 1 }),
    ).toThrow('gapPenalty has 2 values, gamma has 1');
  });
});
