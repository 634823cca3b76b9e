import { describe, expect, it } from 'vitest';
import { kaldiFbank } from '../../../src/data/audio/kaldi-fbank.js';
import { cremadSpectrogram, ksFbank, tileTo } from '../../../src/data/audio/recipes.js';
import { resamplePoly } from '../../../src/data/audio/resample.js';
import { hannWindow, stftMagnitude } from '../../../src/data/audio/stft.js';
import { Rng } from '../../../src/data/rng.js';
import { maxAbsErr, maxRelErr, pythonMissing, runPython } from '../helpers/python.js';

/** A speech-like test signal: a few harmonics with vibrato, plus noise, peak about 0.6. */
function testSignal(n: number, rate: number, seed: number): Float32Array {
  const rng = new Rng('signal', seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const f0 = 140 + 30 * Math.sin(2 * Math.PI * 3 * t);
    x[i] = 0.3 * Math.sin(2 * Math.PI * f0 * t) + 0.15 * Math.sin(2 * Math.PI * 3.1 * f0 * t) + 0.05 * rng.normal();
  }
  return x;
}

const py = describe.skipIf(pythonMissing !== null);

py('audio features against the Python reference (error = max |a-b| / max(|b|, 1) per element)', () => {
  it('resamplePoly equals scipy.signal.resample_poly within 1e-5 abs (8k->22.05k, 44.1k->16k, 16k->8k)', () => {
    for (const [from, to, n] of [
      [8000, 22050, 4000],
      [44100, 16000, 20000],
      [16000, 8000, 3001],
    ]) {
      const x = testSignal(n, from, from);
      const ref = runPython(
        `from scipy.signal import resample_poly\nsave('y', resample_poly(load('x').astype(np.float64), ${to}, ${from}))`,
        { x: Float64Array.from(x) },
        ['y'],
      ).y;
      const y = resamplePoly(x, to, from);
      expect(y.length).toBe(ref.data.length);
      expect(maxAbsErr(y, ref.data)).toBeLessThan(1e-5);
    }
  });

  it('the CREMA-D log-STFT equals torch.stft + log within 1e-4', () => {
    const x = testSignal(3 * 22050, 22050, 1);
    const ours = cremadSpectrogram(x, 22050);
    const ref = runPython(
      [
        'import torch',
        "x = torch.from_numpy(load('x'))",
        'X = torch.stft(x, n_fft=512, hop_length=353, window=torch.hann_window(512, dtype=torch.float64), center=True, pad_mode="reflect", return_complex=True)',
        "save('s', torch.log(X.abs() + 1e-7).numpy())",
      ].join('\n'),
      { x: Float64Array.from(x, (v) => Math.max(-1, Math.min(1, v))) },
      ['s'],
    ).s;
    expect(ref.shape).toEqual([257, 188]);
    expect(ours.length).toBe(257 * 188);
    expect(maxRelErr(ours, ref.data)).toBeLessThan(1e-4);
  });

  it('the full CREMA-D recipe from a short 16 kHz clip (resample, tile, clip) matches float32 resample_poly + tile + torch.stft within 1e-4', () => {
    const x = testSignal(19000, 16000, 5).map((v) => 2.2 * v); // 1.19 s, peaks beyond 1 get clipped
    const ours = cremadSpectrogram(x, 16000);
    const ref = runPython(
      [
        'import torch',
        'from scipy.signal import resample_poly',
        // waveforms are float32 between steps, in mmgap as in librosa.load (which OGM-GE uses)
        "y = resample_poly(load('x').astype(np.float64), 441, 320).astype(np.float32).astype(np.float64)",
        'y = np.clip(np.tile(y, 3)[:66150], -1, 1)',
        'X = torch.stft(torch.from_numpy(y), n_fft=512, hop_length=353, window=torch.hann_window(512, dtype=torch.float64), center=True, pad_mode="reflect", return_complex=True)',
        "save('s', torch.log(X.abs() + 1e-7).numpy())",
      ].join('\n'),
      { x: Float64Array.from(x) },
      ['s'],
    ).s;
    expect(maxRelErr(ours, ref.data)).toBeLessThan(1e-4);
  });

  it('stftMagnitude with a non-power-of-two n_fft (Bluestein) equals torch.stft', () => {
    const x = testSignal(4000, 16000, 2);
    const ours = stftMagnitude(x, { nFft: 400, hop: 160, window: hannWindow(400), center: true, padMode: 'reflect' });
    const ref = runPython(
      "import torch\nx=torch.from_numpy(load('x'))\nsave('s', torch.stft(x, 400, 160, window=torch.hann_window(400, dtype=torch.float64), return_complex=True).abs().numpy())",
      { x: Float64Array.from(x) },
      ['s'],
    ).s;
    expect([ours.bins, ours.frames]).toEqual(ref.shape);
    expect(maxRelErr(ours.data, ref.data)).toBeLessThan(1e-9);
  });

  it('kaldiFbank equals torchaudio.compliance.kaldi.fbank (KS recipe options and defaults) within 1e-4', () => {
    const x = testSignal(16000, 16000, 3);
    for (const [opts, pyOpts] of [
      [{ windowType: 'hanning', numMelBins: 128 }, "htk_compat=True, window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10"],
      [{}, 'dither=0.0'],
      [{ windowType: 'hamming', numMelBins: 40, frameLength: 30, roundToPowerOfTwo: false, lowFreq: 50, highFreq: -400 }, "window_type='hamming', num_mel_bins=40, frame_length=30, round_to_power_of_two=False, low_freq=50, high_freq=-400, dither=0.0"],
    ] as const) {
      const ours = kaldiFbank(x, opts);
      const ref = runPython(
        `import torch, torchaudio\nx=torch.from_numpy(load('x')).float()[None]\nsave('f', torchaudio.compliance.kaldi.fbank(x, ${pyOpts}).numpy())`,
        { x },
        ['f'],
      ).f;
      expect([ours.frames, ours.bins]).toEqual(ref.shape);
      expect(maxRelErr(ours.data, ref.data)).toBeLessThan(1e-4);
    }
  });

  it('the Kinetics-Sounds recipe from a 44.1 kHz wav matches resample_poly + kaldi.fbank + pad to 1024 within 1e-4', () => {
    const x = testSignal(44100 * 2, 44100, 4);
    const ours = ksFbank(x, 44100);
    const ref = runPython(
      [
        'import torch, torchaudio',
        'from scipy.signal import resample_poly',
        "w = torch.from_numpy(resample_poly(load('x').astype(np.float64), 160, 441)).float()[None]",
        'w = w - w.mean()',
        "f = torchaudio.compliance.kaldi.fbank(w, htk_compat=True, sample_frequency=16000, use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)",
        'f = torch.nn.functional.pad(f, (0, 0, 0, 1024 - f.shape[0]))',
        "save('f', f.numpy())",
      ].join('\n'),
      { x },
      ['f'],
    ).f;
    expect(ref.shape).toEqual([1024, 128]);
    expect(maxRelErr(ours, ref.data)).toBeLessThan(1e-4);
  });
});

describe('tileTo', () => {
  it('repeats short clips and cuts long ones', () => {
    expect([...tileTo(Float32Array.of(1, 2, 3), 7)]).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect([...tileTo(Float32Array.of(1, 2, 3), 2)]).toEqual([1, 2]);
    expect([...tileTo(new Float32Array(0), 2)]).toEqual([0, 0]);
  });
});
