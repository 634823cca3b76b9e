/** Distances between an mmgap tensor and a reference one, for the numerics tests. */
import { expect } from 'vitest';
import type { Tensor } from '../../src/torch/index.js';

/** max |a - b| over all elements (same shape). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.toFloat64Array(), y = b.toFloat64Array();
  expect(x.length).toBe(y.length);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - (y[i] as number))), 0);
}

/** max |a - b| / max |b|: an error relative to the reference's scale (same shape). */
export function relErr(a: Tensor, b: Tensor): number {
  const y = b.toFloat64Array();
  const den = y.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return maxAbsDiff(a, b) / Math.max(den, 1e-12);
}
