import { describe, expect, it } from 'vitest';
import { ComplexFFT, RealFFT } from '../../../src/data/audio/fft.js';
import { Rng } from '../../../src/data/rng.js';

/** Direct O(n^2) DFT, the definition. */
function dft(x: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      re[k] += x[t] * Math.cos(a);
      im[k] += x[t] * Math.sin(a);
    }
  }
  return { re, im };
}

describe('FFT', () => {
  for (const n of [1, 2, 8, 256, 3, 5, 12, 100, 400, 353]) {
    it(`complex and real FFT of length ${n} match the DFT within 1e-9 * n`, () => {
      const rng = new Rng('fft', n);
      const x = Float64Array.from({ length: n }, () => rng.normal());
      const ref = dft(x);
      const re = Float64Array.from(x);
      const im = new Float64Array(n);
      new ComplexFFT(n).forward(re, im);
      for (let k = 0; k < n; k++) {
        expect(Math.abs(re[k] - ref.re[k])).toBeLessThan(1e-9 * n);
        expect(Math.abs(im[k] - ref.im[k])).toBeLessThan(1e-9 * n);
      }
      const rfft = new RealFFT(n);
      const oRe = new Float64Array(rfft.bins);
      const oIm = new Float64Array(rfft.bins);
      rfft.forward(x, oRe, oIm);
      for (let k = 0; k < rfft.bins; k++) {
        expect(Math.abs(oRe[k] - ref.re[k])).toBeLessThan(1e-9 * n);
        expect(Math.abs(oIm[k] - ref.im[k])).toBeLessThan(1e-9 * n);
      }
    });
  }
});
