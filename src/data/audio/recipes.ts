/**
 * The audio feature recipes of the supported datasets. Each returns a flat Float32Array in the
 * layout of its `shape` and has a `RECIPE` string that names every parameter (it keys the cache).
 */
import { kaldiFbank } from './kaldi-fbank.js';
import { melFilterbank } from './mel.js';
import { resample } from './resample.js';
import { hannWindow, stftMagnitude } from './stft.js';

/** Repeats `x` until it has at least n samples, then keeps the first n (a 0-length input gives zeros). */
export function tileTo(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  if (x.length === 0) return out;
  for (let at = 0; at < n; at += x.length) out.set(x.subarray(0, Math.min(x.length, n - at)), at);
  return out;
}

function clip(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i]));
  return x;
}

function logStft(wave: Float32Array, nFft: number, hop: number): { data: Float32Array; bins: number; frames: number } {
  const spec = stftMagnitude(wave, { nFft, hop, window: hannWindow(nFft, true), center: true, padMode: 'reflect' });
  const data = new Float32Array(spec.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.log(spec.data[i] + 1e-7);
  return { data, bins: spec.bins, frames: spec.frames };
}

/** CREMA-D (OGM-GE): 22,050 Hz, tile to 3 s, clip to [-1, 1], |STFT| n_fft 512 hop 353 periodic Hann centred reflect, log(|X| + 1e-7). */
export const CREMAD_RECIPE = 'cremad-stft:sr22050,tile3s,clip1,nfft512,hop353,hann-periodic,center-reflect,log-eps1e-7';
/** Shape of the CREMA-D spectrogram. */
export const CREMAD_SHAPE = [1, 257, 188];

/** The CREMA-D log spectrogram [1, 257, 188] of a mono waveform at any rate. */
export function cremadSpectrogram(wave: Float32Array, rate: number): Float32Array {
  const sr = 22050;
  const x = clip(tileTo(resample(wave, rate, sr), 3 * sr));
  return logStft(x, 512, 353).data;
}

/**
 * AVE from wav: the community's Audio-1004-SE .pkl files hold 257 x 1004 log spectrograms; their
 * script is not public, so for wav input we use a shape-compatible reconstruction: 16 kHz, tile to
 * 1003 * 160 samples (10.03 s), clip, |STFT| n_fft 512 hop 160 periodic Hann centred reflect, log(|X| + 1e-7).
 */
export const AVE_RECIPE = 'ave-stft:sr16000,tile160480,clip1,nfft512,hop160,hann-periodic,center-reflect,log-eps1e-7';
/** Shape of the AVE spectrogram. */
export const AVE_SHAPE = [1, 257, 1004];

/** The AVE log spectrogram [1, 257, 1004] of a mono waveform at any rate (wav input only; .pkl is read as is). */
export function aveSpectrogram(wave: Float32Array, rate: number): Float32Array {
  const sr = 16000;
  const x = clip(tileTo(resample(wave, rate, sr), 1003 * 160));
  return logStft(x, 512, 160).data;
}

/**
 * Kinetics-Sounds from wav: the AST-style recipe the community used to make its 1024 x 128 .npy
 * files: 16 kHz, subtract the mean, torchaudio.compliance.kaldi.fbank(htk_compat=True,
 * window_type='hanning', num_mel_bins=128, dither=0, frame_shift=10, use_energy=False, other
 * options default), zero-pad or trim to 1024 frames. No normalisation.
 */
export const KS_RECIPE = 'ks-fbank:sr16000,demean,kaldi-fbank-hanning-128bins-25ms-10ms-preemph0.97,pad-trim1024';
/** Shape of the Kinetics-Sounds fbank. */
export const KS_SHAPE = [1, 1024, 128];

/** The Kinetics-Sounds fbank [1, 1024, 128] of a mono waveform at any rate. */
export function ksFbank(wave: Float32Array, rate: number): Float32Array {
  const x = resample(wave, rate, 16000);
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length || 1;
  const centred = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) centred[i] = x[i] - mean;
  const out = new Float32Array(1024 * 128);
  if (centred.length < 400) return out.fill(Math.log(1.1920928955078125e-7));
  const fb = kaldiFbank(centred, { sampleFrequency: 16000, windowType: 'hanning', numMelBins: 128, frameShift: 10 });
  out.set(fb.data.subarray(0, Math.min(fb.data.length, out.length)));
  return out;
}

/**
 * avdigits (FSDD, 8 kHz): a 40-bin log-mel image of 48 frames. The clip is centred in a window of
 * 47 * 160 + 256 = 7776 samples (0.97 s, longer than 99 % of FSDD clips: zero-padded on both sides,
 * or centre-trimmed), |STFT| n_fft 256 hop 160 periodic Hann (no centring), power, 40 HTK mel
 * filters 0-4000 Hz, log(. + 1e-6), then standardised with fixed constants so that features are
 * roughly zero-mean, unit-variance.
 */
export const FSDD_RECIPE = 'fsdd-logmel:sr8000,center-window7776,nfft256,hop160,hann-periodic,power,mel40-htk-0-4000,log-eps1e-6,affine(+10,/5)';
/** Shape of the avdigits audio feature. */
export const FSDD_SHAPE = [1, 40, 48];

const FSDD_WINDOW = 47 * 160 + 256;
const FSDD_HANN = hannWindow(256, true);
let fsddMel: { weights: Float64Array; lo: Int32Array; hi: Int32Array; bins: number } | null = null;

/** The 40 mel filters for n_fft 256 at 8 kHz, with each filter's non-zero bin range (filters are sparse). */
function fsddFilters(bins: number): NonNullable<typeof fsddMel> {
  const weights = melFilterbank(bins, 0, 4000, 40, 8000);
  const lo = new Int32Array(40);
  const hi = new Int32Array(40);
  for (let m = 0; m < 40; m++) {
    let a = 0;
    while (a < bins && weights[m * bins + a] === 0) a++;
    let b = bins;
    while (b > a && weights[m * bins + b - 1] === 0) b--;
    lo[m] = a;
    hi[m] = b;
  }
  return { weights, lo, hi, bins };
}

/** The avdigits log-mel [1, 40, 48] of a mono waveform (resampled to 8 kHz when needed). */
export function fsddLogMel(wave: Float32Array, rate: number): Float32Array {
  const x = resample(wave, rate, 8000);
  const framed = new Float32Array(FSDD_WINDOW);
  const offset = Math.floor(Math.abs(FSDD_WINDOW - x.length) / 2);
  if (x.length <= FSDD_WINDOW) framed.set(x, offset);
  else framed.set(x.subarray(offset, offset + FSDD_WINDOW));
  return logMel8k(framed).data;
}

/**
 * The same log-mel frames over the whole clip, with no fixed window: [T, 40] (time-major), T
 * growing with the clip's length (clips shorter than one 256-sample frame are zero-padded to it).
 */
export function fsddLogMelFrames(wave: Float32Array, rate: number): { data: Float32Array; frames: number } {
  let x = resample(wave, rate, 8000);
  if (x.length < 256) {
    const padded = new Float32Array(256);
    padded.set(x);
    x = padded;
  }
  const { data, frames } = logMel8k(x);
  const out = new Float32Array(frames * 40);
  for (let m = 0; m < 40; m++) for (let t = 0; t < frames; t++) out[t * 40 + m] = data[m * frames + t]!;
  return { data: out, frames };
}

/** 40 log-mel bands of 8 kHz audio, mel-major [40, frames] (n_fft 256, hop 160, no centring). */
function logMel8k(x: Float32Array): { data: Float32Array; frames: number } {
  const spec = stftMagnitude(x, { nFft: 256, hop: 160, window: FSDD_HANN, center: false, padMode: 'constant' });
  const { frames, bins } = spec;
  fsddMel ??= fsddFilters(bins);
  const { weights, lo, hi } = fsddMel;
  const out = new Float32Array(40 * frames);
  const power = new Float64Array(bins);
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < bins; k++) power[k] = spec.data[k * frames + t] ** 2;
    for (let m = 0; m < 40; m++) {
      let e = 0;
      for (let k = lo[m]; k < hi[m]; k++) e += power[k] * weights[m * bins + k];
      out[m * frames + t] = (Math.log(e + 1e-6) + 10) / 5;
    }
  }
  return { data: out, frames };
}
