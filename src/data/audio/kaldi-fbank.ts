import { RealFFT } from './fft.js';

/** The subset of torchaudio.compliance.kaldi.fbank's options that mmgap uses (same names, camel-cased, same defaults). */
export interface KaldiFbankOptions {
  sampleFrequency?: number;
  /** ms */
  frameLength?: number;
  /** ms */
  frameShift?: number;
  numMelBins?: number;
  lowFreq?: number;
  /** <= 0 means relative to Nyquist. */
  highFreq?: number;
  windowType?: 'povey' | 'hanning' | 'hamming' | 'rectangular' | 'blackman';
  blackmanCoeff?: number;
  preemphasisCoefficient?: number;
  removeDcOffset?: boolean;
  roundToPowerOfTwo?: boolean;
  usePower?: boolean;
  useLogFbank?: boolean;
}

const FLT_EPSILON = 1.1920928955078125e-7;

function melScale(f: number): number {
  return 1127 * Math.log(1 + f / 700);
}

function kaldiWindow(type: NonNullable<KaldiFbankOptions['windowType']>, n: number, blackman: number): Float64Array {
  const w = new Float64Array(n);
  const a = (2 * Math.PI) / (n - 1);
  for (let i = 0; i < n; i++) {
    const hann = 0.5 - 0.5 * Math.cos(a * i);
    switch (type) {
      case 'hanning':
        w[i] = hann;
        break;
      case 'povey':
        w[i] = hann ** 0.85;
        break;
      case 'hamming':
        w[i] = 0.54 - 0.46 * Math.cos(a * i);
        break;
      case 'rectangular':
        w[i] = 1;
        break;
      case 'blackman':
        w[i] = blackman - 0.5 * Math.cos(a * i) + (0.5 - blackman) * Math.cos(2 * a * i);
        break;
    }
  }
  return w;
}

/** Kaldi's mel banks (triangles in the mel domain), [numBins, paddedWindow / 2 + 1] with a zero last column. */
function kaldiMelBanks(numBins: number, padded: number, sampleFreq: number, lowFreq: number, highFreq: number): Float64Array {
  const nyquist = sampleFreq / 2;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < nyquist && high > 0 && high <= nyquist && lowFreq < high)) {
    throw new Error(`kaldi fbank: bad low/high frequency ${lowFreq}/${high} for Nyquist ${nyquist}`);
  }
  const cols = padded / 2 + 1;
  const binWidth = sampleFreq / padded;
  const melLow = melScale(lowFreq);
  const delta = (melScale(high) - melLow) / (numBins + 1);
  const banks = new Float64Array(numBins * cols);
  for (let b = 0; b < numBins; b++) {
    const left = melLow + b * delta;
    const center = left + delta;
    const right = center + delta;
    for (let k = 0; k < cols - 1; k++) {
      const mel = melScale(binWidth * k);
      const up = (mel - left) / (center - left);
      const down = (right - mel) / (right - center);
      banks[b * cols + k] = Math.max(0, Math.min(up, down));
    }
  }
  return banks;
}

/**
 * Kaldi-compatible log mel filterbank features, [frames, numMelBins] row-major, matching
 * torchaudio.compliance.kaldi.fbank with dither 0, snip_edges true and use_energy false.
 * Input samples are used as given (torchaudio's normalised [-1, 1] floats in mmgap's recipes).
 */
export function kaldiFbank(wave: ArrayLike<number>, opts: KaldiFbankOptions = {}): { data: Float32Array; frames: number; bins: number } {
  const sr = opts.sampleFrequency ?? 16000;
  const windowSize = Math.trunc((sr * (opts.frameLength ?? 25)) / 1000);
  const shift = Math.trunc((sr * (opts.frameShift ?? 10)) / 1000);
  const numBins = opts.numMelBins ?? 23;
  const preemph = opts.preemphasisCoefficient ?? 0.97;
  const padded = opts.roundToPowerOfTwo ?? true ? 2 ** Math.ceil(Math.log2(windowSize)) : windowSize;
  if (windowSize < 2 || windowSize > wave.length) {
    throw new Error(`kaldi fbank: window of ${windowSize} samples does not fit a signal of ${wave.length}`);
  }
  const frames = 1 + Math.floor((wave.length - windowSize) / shift);
  const window = kaldiWindow(opts.windowType ?? 'povey', windowSize, opts.blackmanCoeff ?? 0.42);
  const banks = kaldiMelBanks(numBins, padded, sr, opts.lowFreq ?? 20, opts.highFreq ?? 0);
  const fft = new RealFFT(padded);
  const cols = fft.bins;
  const frame = new Float64Array(padded);
  const raw = new Float64Array(windowSize);
  const re = new Float64Array(cols);
  const im = new Float64Array(cols);
  const spec = new Float64Array(cols);
  const out = new Float32Array(frames * numBins);
  const removeDc = opts.removeDcOffset ?? true;
  const usePower = opts.usePower ?? true;
  const useLog = opts.useLogFbank ?? true;
  for (let t = 0; t < frames; t++) {
    const start = t * shift;
    let mean = 0;
    for (let i = 0; i < windowSize; i++) {
      raw[i] = wave[start + i];
      mean += raw[i];
    }
    mean = removeDc ? mean / windowSize : 0;
    for (let i = 0; i < windowSize; i++) raw[i] -= mean;
    frame.fill(0);
    for (let i = windowSize - 1; i >= 0; i--) {
      const prev = raw[Math.max(0, i - 1)];
      frame[i] = (raw[i] - preemph * prev) * window[i];
    }
    fft.forward(frame, re, im);
    for (let k = 0; k < cols; k++) {
      const power = re[k] * re[k] + im[k] * im[k];
      spec[k] = usePower ? power : Math.sqrt(power);
    }
    for (let b = 0; b < numBins; b++) {
      let e = 0;
      const row = b * cols;
      for (let k = 0; k < cols; k++) e += spec[k] * banks[row + k];
      out[t * numBins + b] = useLog ? Math.log(Math.max(e, FLT_EPSILON)) : e;
    }
  }
  return { data: out, frames, bins: numBins };
}
