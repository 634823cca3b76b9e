import { describe, expect, it } from 'vitest';
import { visits } from '../../src/train/session.js';

describe('the samples an epoch visits', () => {
  it("keep the method's own plan (repeats included) within the stage's subset", () => {
    const own = Int32Array.from([0, 0, 1, 2, 2, 2, 5]);
    expect(Array.from(visits(own, Int32Array.from([2, 5, 7])) ?? [])).toEqual([2, 2, 2, 5]);
    expect(visits(own, null)).toBe(own);
    const subset = Int32Array.from([3]);
    expect(visits(null, subset)).toBe(subset);
    expect(visits(null, null)).toBeNull();
  });
});
