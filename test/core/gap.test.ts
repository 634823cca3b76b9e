import { describe, expect, it } from 'vitest';
import { modalityGap, modalitySpread } from '../../src/core/index.js';

/** Exact arithmetic on these small decimals is not guaranteed in binary: compare within 1e-12. */
const EPS = 1e-12;

describe('modalityGap', () => {
  // 3 samples, 3 classes. Labels 0, 2, 1.
  const audio = Float32Array.from([0.7, 0.2, 0.1, 0.1, 0.1, 0.8, 0.3, 0.3, 0.4]);
  const visual = Float64Array.from([0.5, 0.25, 0.25, 0.2, 0.6, 0.2, 0.1, 0.6, 0.3]);
  const labels = Int32Array.from([0, 2, 1]);

  it('is p_a[y] - p_v[y] per sample (hand-worked)', () => {
    const gaps = modalityGap(audio, visual, labels, 3);
    // sample 0: 0.7 - 0.5; sample 1: 0.8 - 0.2; sample 2: 0.3 - 0.6 (float32 audio values)
    const expected = [Math.fround(0.7) - 0.5, Math.fround(0.8) - 0.2, Math.fround(0.3) - 0.6];
    gaps.forEach((g, i) => expect(Math.abs(g - expected[i])).toBeLessThan(EPS));
  });

  it('accepts plain number arrays as labels', () => {
    expect(modalityGap(audio, visual, [0, 2, 1], 3)).toEqual(modalityGap(audio, visual, labels, 3));
  });

  it('names the sample of an out-of-range or non-integer label', () => {
    expect(() => modalityGap(audio, visual, [0, 3, 1], 3)).toThrow('label 3 at index 1 is out of range [0, 3)');
    expect(() => modalityGap(audio, visual, [0, 1, -1], 3)).toThrow('label -1 at index 2');
    expect(() => modalityGap(audio, visual, [0.5, 1, 1], 3)).toThrow('label 0.5 at index 0');
  });

  it('rejects mismatched shapes and non-probabilities', () => {
    expect(() => modalityGap(audio, visual.subarray(0, 6), labels, 3)).toThrow(/modality 1: expected 3 x 3 = 9/);
    expect(() => modalityGap(audio, visual, labels, 0)).toThrow(/numClasses/);
    const logits = Float64Array.from(visual).fill(2.5);
    expect(() => modalityGap(audio, logits, labels, 3)).toThrow(/modality 1, sample 0: .* is 2.5/);
    const withNaN = Float64Array.from(visual);
    withNaN[5] = Number.NaN; // sample 1, class 2 = its label
    expect(() => modalityGap(audio, withNaN, labels, 3)).toThrow(/modality 1, sample 1: .* is NaN/);
  });
});

describe('modalitySpread', () => {
  it('is max - min over modalities with the dominant and weak index (hand-worked, M = 3)', () => {
    // 2 samples, 2 classes, labels 1 and 0.
    const a = Float64Array.from([0.4, 0.6, 0.9, 0.1]);
    const v = Float64Array.from([0.1, 0.9, 0.3, 0.7]);
    const t = Float64Array.from([0.8, 0.2, 0.5, 0.5]);
    const { spread, dominant, weak } = modalitySpread([a, v, t], [1, 0], 2);
    // sample 0: p[y=1] = 0.6, 0.9, 0.2 -> spread 0.7, dominant v (1), weak t (2)
    // sample 1: p[y=0] = 0.9, 0.3, 0.5 -> spread 0.6, dominant a (0), weak v (1)
    expect(Math.abs(spread[0] - 0.7)).toBeLessThan(EPS);
    expect(Math.abs(spread[1] - 0.6)).toBeLessThan(EPS);
    expect(Array.from(dominant)).toEqual([1, 0]);
    expect(Array.from(weak)).toEqual([2, 1]);
  });

  it('equals |modalityGap| for two modalities; ties go to the lowest index', () => {
    const a = Float64Array.from([0.5, 0.5, 0.2, 0.8]);
    const v = Float64Array.from([0.5, 0.5, 0.6, 0.4]);
    const { spread, dominant, weak } = modalitySpread([a, v], [0, 1], 2);
    const gaps = modalityGap(a, v, [0, 1], 2);
    expect(Array.from(spread)).toEqual(Array.from(gaps, Math.abs));
    expect(Array.from(dominant)).toEqual([0, 0]);
    expect(Array.from(weak)).toEqual([0, 1]);
  });

  it('needs at least two modalities', () => {
    expect(() => modalitySpread([Float64Array.of(1)], [0], 1)).toThrow(/at least 2 modalities/);
  });
});
