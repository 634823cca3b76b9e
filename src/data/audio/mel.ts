/** HTK mel scale: 2595 log10(1 + f / 700). */
export function hzToMel(f: number): number {
  return 2595 * Math.log10(1 + f / 700);
}

/** Inverse of hzToMel. */
export function melToHz(m: number): number {
  return 700 * (10 ** (m / 2595) - 1);
}

/**
 * Triangular mel filters on the HTK scale without area normalisation, laid out [nMels, nFreqs],
 * as torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sr) (transposed).
 */
export function melFilterbank(nFreqs: number, fMin: number, fMax: number, nMels: number, sampleRate: number): Float64Array {
  const fb = new Float64Array(nMels * nFreqs);
  const mMin = hzToMel(fMin);
  const mMax = hzToMel(fMax);
  const pts = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) pts[i] = melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1));
  for (let m = 0; m < nMels; m++) {
    const lo = pts[m];
    const mid = pts[m + 1];
    const hi = pts[m + 2];
    for (let k = 0; k < nFreqs; k++) {
      const f = ((sampleRate / 2) * k) / (nFreqs - 1);
      const up = (f - lo) / (mid - lo);
      const down = (hi - f) / (hi - mid);
      fb[m * nFreqs + k] = Math.max(0, Math.min(up, down));
    }
  }
  return fb;
}
