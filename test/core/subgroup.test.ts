import { describe, expect, it } from 'vitest';
import { SeededRandom, auroc, imbalancePosterior, mean, shareAbove } from '../../src/core/index.js';
import { standardiseByClass } from '../../src/core/subgroup.js';
import { loadGmmFixtures } from './shared-fixtures.js';

/** Gaps of a balanced majority near 0 plus imbalanced samples, with the ground-truth flags. */
function drawGaps(n: number, seed: number, imbalancedMeans: number[]): { gaps: Float64Array; flags: boolean[] } {
  const rng = new SeededRandom(seed);
  const gaps = new Float64Array(n);
  const flags: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const imbalanced = rng.uniform() < 0.3;
    const centre = imbalanced ? imbalancedMeans[rng.uniformInt(imbalancedMeans.length)] : 0.02;
    gaps[i] = centre + (imbalanced ? 0.08 : 0.04) * rng.normal();
    flags.push(imbalanced);
  }
  return { gaps, flags };
}

describe('imbalancePosterior', () => {
  it('finds the imbalanced subgroup: balanced = mean nearest 0, gamma separates the flags (AUROC > 0.99)', () => {
    const { gaps, flags } = drawGaps(3000, 1, [0.6]);
    const result = imbalancePosterior(gaps);
    expect(result.imbalanceDetected).toBe(true);
    expect(result.bic2).toBeLessThan(result.bic1);
    expect(result.balancedComponent).toBe(0);
    expect(Math.abs(result.gmm.means[0] - 0.02)).toBeLessThan(0.01);
    expect(auroc(result.gamma, flags)).toBeGreaterThan(0.99);
    expect(Math.abs(shareAbove(result.gamma) - 0.3)).toBeLessThan(0.03);
    expect(result.reason).toMatch(/^BIC\(2\) = .* < BIC\(1\) = .*imbalanced component mean 0\.(59|60)/);
    // 'signed': muBal / sigmaBal are the balanced component's parameters.
    expect(result.muBal).toBe(result.gmm.means[0]);
    expect(result.sigmaBal).toBe(Math.sqrt(result.gmm.variances[0]));
  });

  it('picks the component nearest 0 even when it has the higher mean', () => {
    const { gaps } = drawGaps(3000, 2, [-0.6]);
    const result = imbalancePosterior(gaps);
    expect(result.balancedComponent).toBe(1);
    expect(mean(result.gamma.filter((_, i) => gaps[i] < -0.4))).toBeGreaterThan(0.99);
  });

  it("decision 'bic' sets gamma = 0 for everyone when BIC prefers one component, and says so", () => {
    const rng = new SeededRandom(3);
    const gaps = Float64Array.from({ length: 2000 }, () => 0.1 + 0.2 * rng.normal());
    const result = imbalancePosterior(gaps, { decision: 'bic' });
    expect(result.imbalanceDetected).toBe(false);
    expect(result.bic1).toBeLessThanOrEqual(result.bic2);
    expect(result.gamma.every((g) => g === 0)).toBe(true);
    expect(result.reason).toMatch(/^BIC\(1\) = .* <= BIC\(2\) = .*no imbalanced subgroup; gamma = 0 for all 2000 samples/);
    expect(result.muBal).toBe(result.single.means[0]);
    expect(result.sigmaBal).toBe(Math.sqrt(result.single.variances[0]));
  });

  it("applies the BIC guard exactly where scikit-learn's BIC does on the shared fixtures", () => {
    for (const fixture of loadGmmFixtures()) {
      const result = imbalancePosterior(fixture.x, { nInit: 20, tol: 1e-8, maxIter: 2000 });
      expect([fixture.name, result.imbalanceDetected]).toEqual([fixture.name, fixture.sklearn.bic_2 < fixture.sklearn.bic_1]);
    }
  });

  it("'absolute' separates both-sided imbalance that 'signed' cannot (AUROC > 0.99)", () => {
    const { gaps, flags } = drawGaps(4000, 4, [-0.6, 0.6]);
    const absolute = imbalancePosterior(gaps, { gmmOn: 'absolute' });
    expect(absolute.gmmOn).toBe('absolute');
    expect(absolute.imbalanceDetected).toBe(true);
    expect(absolute.balancedComponent).toBe(0);
    expect(auroc(absolute.gamma, flags)).toBeGreaterThan(0.99);
    expect(absolute.reason).toContain('|gaps|');
    // muBal / sigmaBal: the signed gaps weighted by 1 - gamma (within 0.01 of the balanced truth 0.02 / 0.04).
    expect(Math.abs(absolute.muBal - 0.02)).toBeLessThan(0.01);
    expect(Math.abs(absolute.sigmaBal - 0.04)).toBeLessThan(0.01);
    const signed = imbalancePosterior(gaps, { gmmOn: 'signed' });
    expect(auroc(signed.gamma, flags)).toBeLessThan(auroc(absolute.gamma, flags));
  });

  it("decision 'soft': gamma = the BIC weight of 2 components x the posterior; the same as 'bic' on a clear subgroup", () => {
    const { gaps, flags } = drawGaps(3000, 1, [0.6]);
    const hard = imbalancePosterior(gaps, { decision: 'bic' });
    const soft = imbalancePosterior(gaps);
    expect(soft.decision).toBe('soft');
    expect(soft.evidence).toBeCloseTo(1 / (1 + Math.exp((soft.bic2 - soft.bic1) / 2)), 15);
    expect(soft.evidence).toBe(1); // BIC(2) far below BIC(1): exp underflows
    expect(Array.from(soft.gamma)).toEqual(Array.from(hard.gamma));
    expect(auroc(soft.gamma, flags)).toBeGreaterThan(0.99);
  });

  it("decision 'soft' on one-component data: no sample reaches 0.5, the order of the posterior is kept", () => {
    const rng = new SeededRandom(3);
    // a skewed single group: a tail to the right that one Gaussian fits nearly as well
    const gaps = Float64Array.from({ length: 2000 }, () => 0.1 + 0.2 * rng.normal());
    const soft = imbalancePosterior(gaps, { decision: 'soft' });
    expect(soft.imbalanceDetected).toBe(false);
    expect(soft.evidence).toBeGreaterThan(0);
    expect(soft.evidence).toBeLessThan(0.5);
    expect(shareAbove(soft.gamma, 0.5)).toBe(0);
    expect(soft.gamma.some((g) => g > 0)).toBe(true);
    // gamma / w2 is the 2-component posterior of the imbalanced component, in [0, 1]
    const max = Math.max(...soft.gamma);
    expect(max / soft.evidence).toBeLessThanOrEqual(1 + 1e-12);
    expect(soft.reason).toMatch(/no imbalanced subgroup; soft decision: gamma = .* x the imbalanced posterior$/);
  });

  it('minSeparation: a fit whose components overlap (Ashman\'s D below the gate) declares no subgroup', () => {
    // two overlapping groups, means 0 and 0.25, sd 0.1: BIC prefers 2, D = sqrt(2) 0.25 / sqrt(0.02) = 2.5 at the truth
    const rng = new SeededRandom(5);
    const gaps = Float64Array.from({ length: 4000 }, (_, i) => (i % 4 === 0 ? 0.25 : 0) + 0.1 * rng.normal());
    const free = imbalancePosterior(gaps);
    const m = free.gmm.means, v = free.gmm.variances;
    expect(free.separation).toBeCloseTo((Math.SQRT2 * Math.abs(m[1] - m[0])) / Math.sqrt(v[0] + v[1]), 12);
    expect(free.imbalanceDetected).toBe(true);
    const gated = imbalancePosterior(gaps, { minSeparation: free.separation + 0.5 });
    expect(gated.imbalanceDetected).toBe(false);
    expect(gated.gamma.every((g) => g === 0)).toBe(true);
    expect(gated.reason).toMatch(/^components too close \(Ashman's D \d\.\d\d < /);
    expect(imbalancePosterior(gaps, { decision: 'soft', minSeparation: free.separation + 0.5 }).gamma.every((g) => g === 0)).toBe(true);
    expect(imbalancePosterior(gaps, { minSeparation: free.separation - 0.5 }).imbalanceDetected).toBe(true);
  });

  it('classLabels: per-class standardised gaps drop a class-driven "subgroup" and keep the corrupted one', () => {
    const rng = new SeededRandom(7);
    const n = 3000;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    // Balanced data whose classes differ: classes 0-2 have gaps near 0.45, the rest near 0.
    const balanced = Float64Array.from(labels, (c) => (c < 3 ? 0.45 : 0) + 0.05 * rng.normal());
    expect(shareAbove(imbalancePosterior(balanced).gamma)).toBeGreaterThan(0.25);
    const perClass = imbalancePosterior(balanced, { classLabels: labels });
    expect(shareAbove(perClass.gamma)).toBeLessThan(0.02);
    expect(perClass.reason).toContain('per-class standardised signed gaps');
    // 20 % corrupted samples, +0.5 within their class: found on the standardised gaps.
    const flags = Array.from({ length: n }, () => rng.uniform() < 0.2);
    const corrupt = balanced.map((g, i) => g + (flags[i] ? 0.5 : 0));
    expect(auroc(imbalancePosterior(corrupt, { classLabels: labels }).gamma, flags)).toBeGreaterThan(0.99);
    expect(() => imbalancePosterior(corrupt, { classLabels: labels.subarray(1) })).toThrow(/classLabels has 2999 labels for 3000 gaps/);
  });

  it('standardiseByClass: each value minus its class mean over its class std (population), singletons at 0', () => {
    const z = standardiseByClass(Float64Array.from([1, 3, 10, 5]), [0, 0, 1, 2]);
    expect(Array.from(z)).toEqual([-1, 1, 0, 0]);
  });

  it('validates its input', () => {
    expect(() => imbalancePosterior([0.1, 0.2, 0.3], { decision: 'hard' as 'bic' })).toThrow(/decision must be one of/);
    expect(() => imbalancePosterior([0.1, 0.2, 0.3], { minSeparation: -1 })).toThrow(/minSeparation must be a finite number >= 0/);
    expect(() => imbalancePosterior([0.1, Number.NaN, 0.2])).toThrow('gaps[1] is NaN');
    expect(() => imbalancePosterior([0.1])).toThrow(/cannot fit 2 components to 1 samples/);
    expect(() => imbalancePosterior([0.1, 0.2], { gmmOn: 'abs' as 'absolute' })).toThrow(/gmmOn must be one of/);
  });
});
