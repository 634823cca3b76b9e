import { RealFFT } from './fft.js';

/** Hann window; `periodic` as torch.hann_window's default (and librosa's), symmetric otherwise. */
export function hannWindow(n: number, periodic = true): Float64Array {
  const w = new Float64Array(n);
  const denom = periodic ? n : n - 1;
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / denom);
  return w;
}

/** Options of `stftMagnitude`, with torch.stft's meaning. */
export interface StftOptions {
  nFft: number;
  hop: number;
  /** Length nFft (shorter windows are zero-padded on both sides, as torch does). */
  window: Float64Array;
  /** Pad nFft/2 samples on both sides so that frame t is centred on sample t * hop. */
  center: boolean;
  padMode: 'reflect' | 'constant';
}

/** A magnitude spectrogram laid out [bins, frames] (frequency-major, as torch.stft returns it). */
export interface Spectrogram {
  data: Float64Array;
  bins: number;
  frames: number;
}

function padWindow(window: Float64Array, nFft: number): Float64Array {
  if (window.length === nFft) return window;
  if (window.length > nFft) throw new Error(`STFT window (${window.length}) longer than n_fft (${nFft})`);
  const w = new Float64Array(nFft);
  w.set(window, Math.floor((nFft - window.length) / 2));
  return w;
}

function padSignal(x: ArrayLike<number>, pad: number, mode: 'reflect' | 'constant'): Float64Array {
  const n = x.length;
  if (mode === 'reflect' && n <= pad) {
    throw new Error(`reflect padding of ${pad} needs a signal longer than ${pad} samples (got ${n})`);
  }
  const out = new Float64Array(n + 2 * pad);
  for (let i = 0; i < n; i++) out[pad + i] = x[i];
  if (mode === 'reflect') {
    for (let i = 1; i <= pad; i++) {
      out[pad - i] = x[i];
      out[pad + n - 1 + i] = x[n - 1 - i];
    }
  }
  return out;
}

const plans = new Map<number, RealFFT>();

/** |STFT(x)| computed in float64, like torch.stft(..., return_complex=True).abs(). */
export function stftMagnitude(x: ArrayLike<number>, opts: StftOptions): Spectrogram {
  const { nFft, hop } = opts;
  const window = padWindow(opts.window, nFft);
  const signal = opts.center ? padSignal(x, Math.floor(nFft / 2), opts.padMode) : Float64Array.from(x);
  if (signal.length < nFft) throw new Error(`signal of ${signal.length} samples is shorter than n_fft ${nFft}`);
  const frames = 1 + Math.floor((signal.length - nFft) / hop);
  let fft = plans.get(nFft);
  if (!fft) plans.set(nFft, (fft = new RealFFT(nFft)));
  const bins = fft.bins;
  const data = new Float64Array(bins * frames);
  const frame = new Float64Array(nFft);
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  for (let t = 0; t < frames; t++) {
    const start = t * hop;
    for (let i = 0; i < nFft; i++) frame[i] = signal[start + i] * window[i];
    fft.forward(frame, re, im);
    for (let k = 0; k < bins; k++) data[k * frames + t] = Math.sqrt(re[k] * re[k] + im[k] * im[k]);
  }
  return { data, bins, frames };
}
