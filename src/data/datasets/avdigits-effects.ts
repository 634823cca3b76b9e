/**
 * The avdigits visual degradation (every image, so that vision is the weak modality), the
 * per-sample corruptions (one modality of a seeded fraction of samples) and the two regimes (named
 * sets of defaults for both). All deterministic for a seed.
 */
import { resizeRegion } from '../image/resize.js';
import type { Rng } from '../rng.js';

/** Degradation and corruption strengths; every field is an avdigits option of the same name. */
export interface AvdigitsEffects {
  /** Images are downscaled to this side and back to 28 (28 = no blur). */
  visualScale: number;
  /** Stroke intensity multiplier (1 = unchanged). */
  visualContrast: number;
  /** Standard deviation of the additive Gaussian pixel noise (pixels in [0, 1]). */
  visualNoise: number;
  /**
   * Maximum random translation of the digit, in pixels (integer, 0 = none): each sample's image is
   * shifted by (dx, dy), each uniform in [-visualShift, visualShift], seeded by (seed, sample id).
   * Position jitter makes vision slower to learn without taking its information away.
   */
  visualShift: number;
  /** Signal-to-noise ratio (dB) of white noise added to every clip; null = clean audio. */
  audioSnrDb: number | null;
  /**
   * Per-utterance normalisation of the log-mel features: 'none' keeps the recipe's fixed scaling;
   * 'cmvn' standardises each mel band over the clip's frames (cepstral mean and variance
   * normalisation), which removes much of a speaker's and microphone's colour and so helps
   * recognition of speakers never heard in training.
   */
  audioNorm: 'none' | 'cmvn';
  /** Fraction of samples (per split) with one modality corrupted. */
  corruptFraction: number;
  /** The corrupted modality: "audio" or "visual". */
  corruptModality: 'audio' | 'visual';
  /** Kinds, assigned in turn over the corrupted samples: audio "noise" | "silence", visual "occlusion" | "swap". */
  corruptKinds: string[];
  /** "noise": signal-to-noise ratio of the added white noise, dB. */
  noiseSnrDb: number;
  /** "silence": gain applied to the clip, dB (a hiss floor at -60 dBFS is added). */
  silenceDb: number;
  /** "occlusion": side of the white square, as a fraction of the image side. */
  occlusionSize: number;
  /**
   * Clips kept per class and speaker in the training split (a seeded subsample; null = all 50):
   * a small training set, where even the strong modality stays under-trained. Validation and
   * test are never subsampled.
   */
  trainPerClass: number | null;
}

/** The avdigits regimes: named sets of effect defaults (option `regime`); explicit options override them. */
export type Regime = 'corrupt' | 'underuse' | 'small';
/** The regime used when the option `regime` is not given. */
export const DEFAULT_REGIME: Regime = 'underuse';

/** Corruption parameters shared by both regimes (they act only when corruptFraction > 0); a fresh copy per call. */
const corruption = (): Pick<AvdigitsEffects, 'corruptModality' | 'corruptKinds' | 'noiseSnrDb' | 'silenceDb' | 'occlusionSize'> => ({
  corruptModality: 'visual',
  corruptKinds: ['occlusion', 'swap'],
  noiseSnrDb: -10,
  silenceDb: -50,
  occlusionSize: 0.6,
});

/**
 * The degradation of `underuse`, whose audio `corrupt` shares (calibrated with the project's small
 * CNN encoders on the 3-fold speaker protocol, docs/DATA.md): vision blurred (down to 9 px and back),
 * low-contrast, noisy and jittered in position, so that it is informative alone but learned more
 * slowly than audio; every clip with white noise at 15 dB SNR (clean clips generalise worse to
 * unseen speakers: the model keys on each speaker's recording channel) and per-utterance
 * cepstral mean and variance normalisation.
 */
const BASE: Omit<AvdigitsEffects, 'corruptFraction' | 'corruptModality' | 'corruptKinds' | 'noiseSnrDb' | 'silenceDb' | 'occlusionSize' | 'trainPerClass'> = {
  visualScale: 9,
  visualContrast: 0.6,
  visualNoise: 0.25,
  // MNIST digits sit in a 20x20 box centred in the 28x28 frame: a 3-pixel jitter keeps them (almost) whole.
  visualShift: 3,
  audioSnrDb: 15,
  audioNorm: 'cmvn',
};

/**
 * The regimes, the one place to change their numbers.
 *
 * - `underuse` (the CREMA-D signature): no sample is corrupted; both modalities are informative
 *   alone, vision is learned more slowly, and a joint model under-uses it.
 * - `corrupt`: clean samples carry two good modalities (vision sharp: mild blur, full contrast,
 *   light noise, no jitter), and 20 % of samples per split have their image occluded or swapped
 *   for another digit's: those samples are imbalanced only because of a low-quality modality,
 *   the ground truth the GMM's subgroup is scored against and purification should remove. (With
 *   `underuse`'s weak vision, clean samples are as imbalanced as corrupted ones and no gap can
 *   tell them apart: the AUROC of the raw training gap stayed at 0.57-0.76 whatever the method.)
 * - `small` (the signature of a small many-class corpus, issue #29: ~15 training clips per class
 *   and speaker, where the joint model under-trains even its strong modality): `underuse`'s data
 *   with the training split subsampled to 15 clips per class and speaker (450 in a 3-fold fold).
 */
export const AVDIGITS_REGIMES: Record<Regime, AvdigitsEffects> = {
  underuse: { ...BASE, corruptFraction: 0, ...corruption(), trainPerClass: null },
  corrupt: { ...BASE, visualScale: 14, visualContrast: 1, visualNoise: 0.1, visualShift: 0, corruptFraction: 0.2, ...corruption(), trainPerClass: null },
  small: { ...BASE, corruptFraction: 0, ...corruption(), trainPerClass: 15 },
};

const KINDS = { audio: ['noise', 'silence'], visual: ['occlusion', 'swap'] };

/** Standardises each of the `bands` rows of a [bands, frames] feature map over its frames (in place; returns it). */
export function cmvn(x: Float32Array, bands: number): Float32Array {
  const frames = x.length / bands;
  for (let b = 0; b < bands; b++) {
    const row = x.subarray(b * frames, (b + 1) * frames);
    let m = 0;
    for (const v of row) m += v;
    m /= frames;
    let v2 = 0;
    for (const v of row) v2 += (v - m) ** 2;
    const sd = Math.sqrt(v2 / frames) + 1e-5;
    for (let t = 0; t < frames; t++) row[t] = ((row[t] as number) - m) / sd;
  }
  return x;
}
const HISS_RMS = 1e-3; // -60 dBFS

/** Validates option values, naming the offending option. */
export function checkEffects(e: AvdigitsEffects): void {
  if (!(e.corruptModality in KINDS)) throw new Error(`avdigits: corruptModality must be "audio" or "visual" (got "${e.corruptModality}")`);
  const known = KINDS[e.corruptModality];
  const bad = e.corruptKinds.filter((k) => !known.includes(k));
  if (bad.length || e.corruptKinds.length === 0) throw new Error(`avdigits: corruptKinds for ${e.corruptModality} must be among ${known.join(', ')} (got ${e.corruptKinds.join(', ') || 'none'})`);
  if (!(e.corruptFraction >= 0 && e.corruptFraction <= 1)) throw new Error(`avdigits: corruptFraction must be in [0, 1] (got ${e.corruptFraction})`);
  if (!(Number.isInteger(e.visualScale) && e.visualScale >= 2 && e.visualScale <= 28)) throw new Error(`avdigits: visualScale must be an integer in [2, 28] (got ${e.visualScale})`);
  if (e.audioNorm !== 'none' && e.audioNorm !== 'cmvn') throw new Error(`avdigits: audioNorm must be "none" or "cmvn" (got ${JSON.stringify(e.audioNorm)})`);
  if (!(Number.isInteger(e.visualShift) && e.visualShift >= 0 && e.visualShift <= 14)) throw new Error(`avdigits: visualShift must be an integer number of pixels in [0, 14] (got ${e.visualShift})`);
  if (e.trainPerClass !== null && !(Number.isInteger(e.trainPerClass) && e.trainPerClass >= 1)) throw new Error(`avdigits: trainPerClass must be an integer >= 1 (clips per class and speaker) or null for all (got ${String(e.trainPerClass)})`);
  if (e.audioSnrDb !== null && !Number.isFinite(e.audioSnrDb)) throw new Error(`avdigits: audioSnrDb must be a number of dB or null (got ${String(e.audioSnrDb)})`);
}

function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, x.length));
}

/** The degradation of every clip: white noise at `audioSnrDb` (a copy; the clip itself when off). */
export function degradeAudio(wave: Float32Array, e: AvdigitsEffects, rng: Rng): Float32Array {
  if (e.audioSnrDb === null) return wave;
  const sigma = rms(wave) * 10 ** (-e.audioSnrDb / 20);
  return wave.map((v) => v + sigma * rng.normal());
}

/** Applies an audio corruption to a copy of the clip. */
export function corruptAudio(wave: Float32Array, kind: string, e: AvdigitsEffects, rng: Rng): Float32Array {
  const out = new Float32Array(wave.length);
  if (kind === 'noise') {
    const sigma = rms(wave) * 10 ** (-e.noiseSnrDb / 20);
    for (let i = 0; i < out.length; i++) out[i] = wave[i] + sigma * rng.normal();
  } else {
    const gain = 10 ** (e.silenceDb / 20);
    for (let i = 0; i < out.length; i++) out[i] = wave[i] * gain + HISS_RMS * rng.normal();
  }
  return out;
}

/** The digit translated by a random (dx, dy) in [-visualShift, visualShift]^2 (a copy, zero-filled; the image itself when off). */
export function shiftImage(img: Float32Array, e: AvdigitsEffects, rng: Rng): Float32Array {
  if (e.visualShift === 0) return img;
  const dx = rng.uniformInt(2 * e.visualShift + 1) - e.visualShift;
  const dy = rng.uniformInt(2 * e.visualShift + 1) - e.visualShift;
  const out = new Float32Array(784);
  for (let y = Math.max(0, dy); y < Math.min(28, 28 + dy); y++) {
    for (let x = Math.max(0, dx); x < Math.min(28, 28 + dx); x++) out[y * 28 + x] = img[(y - dy) * 28 + x - dx];
  }
  return out;
}

/** Paints the occluding square (white, at a random position) on a copy of a 28x28 image. */
export function occlude(img: Float32Array, e: AvdigitsEffects, rng: Rng): Float32Array {
  const out = Float32Array.from(img);
  const side = Math.round(e.occlusionSize * 28);
  const x0 = rng.uniformInt(28 - side + 1);
  const y0 = rng.uniformInt(28 - side + 1);
  for (let y = y0; y < y0 + side; y++) out.fill(1, y * 28 + x0, y * 28 + x0 + side);
  return out;
}

const MNIST_MEAN = 0.1307;
const MNIST_STD = 0.3081;

/** Blur (down/up-scaling), contrast, noise, then standardisation: the features of every avdigits image, [1, 28, 28]. */
export function degradeImage(img: Float32Array, e: AvdigitsEffects, rng: Rng): Float32Array {
  const full = { x: 0, y: 0, width: 28, height: 28 };
  let x = img;
  if (e.visualScale < 28) {
    const small = resizeRegion(img, 1, 28, 28, full, e.visualScale, e.visualScale, true);
    x = resizeRegion(small, 1, e.visualScale, e.visualScale, { x: 0, y: 0, width: e.visualScale, height: e.visualScale }, 28, 28, false);
  }
  const mean = e.visualContrast * MNIST_MEAN;
  const std = Math.sqrt((e.visualContrast * MNIST_STD) ** 2 + e.visualNoise ** 2);
  const out = new Float32Array(784);
  for (let i = 0; i < 784; i++) out[i] = (e.visualContrast * x[i] + e.visualNoise * rng.normal() - mean) / std;
  return out;
}
