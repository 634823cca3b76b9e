// Purification's sample choice never removes more than maxDrop, and its keep decision follows the
// paired bootstrap interval of the validation gain.
import { describe, expect, it } from 'vitest';
import { keepProbabilities, purifyDecision } from '../../src/train/purify.js';
import { PURIFY_DEFAULTS, type PurifyConfig } from '../../src/train/config.js';
import { pairedComparison } from '../../src/core/index.js';

const cfg = (o: Partial<PurifyConfig>): PurifyConfig => ({ ...PURIFY_DEFAULTS, ...o });
const sum = (x: Float64Array): number => x.reduce((a, b) => a + b, 0);

describe('purification', () => {
  // 10 samples, 6 of them called imbalanced (gamma >= 0.5).
  const gamma = Float64Array.from([0.9, 0.1, 0.8, 0.7, 0.2, 0.95, 0.6, 0.3, 0.55, 0.05]);

  it('keep tau removes gamma >= tau while that stays within maxDrop', () => {
    expect(Array.from(keepProbabilities(gamma, cfg({ maxDrop: 0.6 }), 1))).toEqual([0, 1, 0, 0, 1, 0, 0, 1, 0, 1]);
  });

  it('keep tau beyond maxDrop keeps the lowest-gamma 1 - maxDrop share instead', () => {
    const k = keepProbabilities(gamma, cfg({ maxDrop: 0.3 }), 1);
    expect(sum(k)).toBe(7);
    // the three removed are the three highest gammas
    expect(Array.from(k.keys()).filter((i) => k[i] === 0).sort()).toEqual([0, 2, 5]);
  });

  it('keep mixture never keeps fewer than 1 - maxDrop', () => {
    expect(sum(keepProbabilities(gamma, cfg({ keep: 'mixture', maxDrop: 0.3 }), 0.4))).toBe(7);
    expect(sum(keepProbabilities(gamma, cfg({ keep: 'mixture', maxDrop: 0.3 }), 0.9))).toBe(9);
  });

  it('keep soft: 1 - gamma, scaled so that the expected removal is at most maxDrop', () => {
    const free = keepProbabilities(gamma, cfg({ keep: 'soft', maxDrop: 1 }), 1);
    free.forEach((k, i) => expect(k).toBeCloseTo(1 - gamma[i]!, 12));
    const capped = keepProbabilities(gamma, cfg({ keep: 'soft', maxDrop: 0.3 }), 1);
    expect(10 - sum(capped)).toBeCloseTo(3, 12);
    // same order: a higher gamma is never kept more often
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) if (gamma[i]! > gamma[j]!) expect(capped[i]!).toBeLessThan(capped[j]!);
  });

  it('decide validation keeps the purified model only when the interval of the gain clears -margin', () => {
    const n = 500;
    const before = new Uint8Array(n).map((_, i) => (i % 5 === 0 ? 0 : 1)); // 80 %
    const better = before.map((b, i) => (i < 150 ? 1 : b)); // +6 points: 30 fixed, none broken
    const slightly = before.map((b, i) => (i < 10 ? 1 : b)); // +0.4 points
    const worse = before.map((b, i) => (i >= 100 && i < 150 && i % 5 !== 0 ? 0 : b));
    const d = purifyDecision(before, better, cfg({}), 0);
    const ref = pairedComparison(better, before, { seed: 0 });
    expect([d.diff, d.lo, d.hi, d.n]).toEqual([ref.diff, ref.lo, ref.hi, n]);
    expect(d.diff).toBeCloseTo(0.06, 12);
    expect(d.kept).toBe(true);
    expect(purifyDecision(before, slightly, cfg({}), 0).kept).toBe(false);
    expect(purifyDecision(before, slightly, cfg({ margin: 0.01 }), 0).kept).toBe(true);
    expect(purifyDecision(before, worse, cfg({ margin: 0.01 }), 0).kept).toBe(false);
    expect(purifyDecision(before, worse, cfg({ decide: 'always' }), 0).kept).toBe(true);
  });
});
