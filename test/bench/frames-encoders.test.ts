import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseFramesEncoder } from '../../bench/frames-encoders.js';
import { fsddSplit, sliceSpectrogram, SLICE, writeFsddFrames } from '../../bench/fsdd-frames.js';
import { digitFrame, halfSize, NOISE_SD, writeMnistFrames } from '../../bench/mnist-frames.js';
import { weakSteps, WEAK_DIM } from '../../bench/moving-frames.js';
import { SeededRandom } from '../../src/core/index.js';
import { decodeWav, loadMnistTest, readNpy } from '../../src/data/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'mmgap-frames-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const npy = (file: string): { data: Float32Array; shape: number[] } => {
  const a = readNpy(readFileSync(file), file);
  return { data: a.data as Float32Array, shape: a.shape };
};
const manifest = (dir: string): string[][] => readFileSync(join(dir, 'manifest.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
const count = (rows: string[][], split: string): number => rows.filter((r) => r[2] === split).length;

describe('the frames auto-encoder rule (validation only)', () => {
  const P = 'small-cnn', G = 'small-cnn+gru', S = 'small-cnn+seq-cnn';
  it('keeps the pooled encoder when an ordered one is below it on any workload, however far above elsewhere', () => {
    expect(chooseFramesEncoder({ a: { [P]: 0.5, [G]: 1, [S]: 0.9 }, b: { [P]: 0.9, [G]: 0.89, [S]: 0.85 } })).toBe(P);
  });
  it('keeps the pooled encoder when an ordered one only ties it everywhere', () => {
    expect(chooseFramesEncoder({ a: { [P]: 0.7, [G]: 0.7, [S]: 0.6 }, b: { [P]: 0.8, [G]: 0.8, [S]: 0.8 } })).toBe(P);
  });
  it('takes an ordered encoder that is nowhere below and somewhere above; of two, the higher mean', () => {
    expect(chooseFramesEncoder({ a: { [P]: 0.5, [G]: 0.9, [S]: 0.4 }, b: { [P]: 0.8, [G]: 0.8, [S]: 0.9 } })).toBe(G);
    expect(chooseFramesEncoder({ a: { [P]: 0.5, [G]: 0.9, [S]: 0.95 }, b: { [P]: 0.8, [G]: 0.8, [S]: 0.81 } })).toBe(S);
  });
  it('refuses a table with a missing cell', () => {
    expect(() => chooseFramesEncoder({ a: { [P]: 0.5, [G]: 0.9 } })).toThrow(/small-cnn\+seq-cnn on a/);
  });
});

describe('FSDD spectrogram slices', () => {
  it('slice k holds steps 2k .. 2k+3 of every band; overlapping slices rebuild the spectrogram', () => {
    const steps = 11, bands = 40;
    const spec = Float32Array.from({ length: steps * bands }, (_, i) => Math.sin(i));
    const { data, shape } = sliceSpectrogram(spec, steps);
    expect(shape).toEqual([Math.floor((steps - SLICE.steps) / SLICE.hop) + 1, 1, bands, SLICE.steps]);
    const rebuilt = new Float32Array(spec.length).fill(NaN);
    for (let k = 0; k < shape[0]; k++) {
      for (let b = 0; b < bands; b++) for (let j = 0; j < SLICE.steps; j++) rebuilt[(k * SLICE.hop + j) * bands + b] = data[((k * bands) + b) * SLICE.steps + j]!;
    }
    // 11 steps in slices of 4 at hop 2: steps 0..9 are covered, step 10 is left out
    expect(Array.from(rebuilt.subarray(0, 10 * bands))).toEqual(Array.from(spec.subarray(0, 10 * bands)));
  });
  it('a clip shorter than one slice is one zero-padded slice', () => {
    const spec = Float32Array.from({ length: 2 * 40 }, () => 1);
    const { data, shape } = sliceSpectrogram(spec, 2);
    expect(shape).toEqual([1, 1, 40, 4]);
    expect(Array.from(data.subarray(0, 4))).toEqual([1, 1, 0, 0]);
  });
  it('splits by take: 0-4 test, 5-9 validation, then the training takes, the rest left out', () => {
    expect([0, 4, 5, 9, 10, 24, 25].map((t) => fsddSplit(t, 15))).toEqual(['test', 'test', 'val', 'val', 'train', 'train', null]);
  });
  it('writes the real recordings as ragged [T, 1, 40, 4] frames whose T follows the clip length', async () => {
    const dir = await writeFsddFrames(join(tmp, 'fsdd'), { trainTakes: 2 });
    const rows = manifest(dir);
    expect([count(rows, 'train'), count(rows, 'val'), count(rows, 'test')]).toEqual([120, 300, 300]);
    const lengths = new Set<number>();
    for (const [id, label] of rows.slice(0, 40)) {
      expect(label).toBe(`d${id![0]}`);
      const { shape } = npy(join(dir, 'speech', `${id}.npy`));
      // an independent count: STFT frames of n samples at 8 kHz (n_fft 256, hop 160), then slices
      const wav = decodeWav(readFileSync(join('/work/shared/data/fsdd/recordings', `${id}.wav`)), id!);
      expect(wav.sampleRate).toBe(8000);
      const stft = Math.floor((Math.max(wav.channels[0]!.length, 256) - 256) / 160) + 1;
      expect(shape).toEqual([stft <= 4 ? 1 : Math.floor((stft - 4) / 2) + 1, 1, 40, 4]);
      lengths.add(shape[0]!);
      expect(npy(join(dir, 'tag', `${id}.npy`)).shape[1]).toBe(WEAK_DIM);
    }
    expect(lengths.size).toBeGreaterThan(3);
  });
});

describe('MNIST frames in random order', () => {
  it('halves an image by 2 x 2 means', async () => {
    const m = await loadMnistTest({ download: false });
    const h = halfSize(m.pixels, 7);
    const p = (y: number, x: number): number => m.pixels[(7 * 28 + y) * 28 + x]!;
    for (const [y, x] of [[0, 0], [6, 9], [13, 13]] as const) expect(h[y * 14 + x]).toBeCloseTo((p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1)) / 4, 6);
  });
  it('one frame: the shifted digit on the shown half, noise of sd NOISE_SD everywhere', async () => {
    const digit = halfSize((await loadMnistTest({ download: false })).pixels, 0);
    const rng = new SeededRandom(2);
    let sq = 0, n = 0;
    for (let r = 0; r < 50; r++) {
      const [dx, dy, half] = [1, -1, r % 4];
      const f = digitFrame(digit, dx, dy, half, rng);
      for (let y = 0; y < 14; y++) {
        for (let x = 0; x < 14; x++) {
          const shown = [y < 7, y >= 7, x < 7, x >= 7][half]!;
          const src = y - dy >= 0 && y - dy < 14 && x - dx >= 0 && x - dx < 14 ? digit[(y - dy) * 14 + x - dx]! : 0;
          const e = f[y * 14 + x]! - (shown ? src : 0);
          sq += e * e; n++;
        }
      }
    }
    expect(Math.sqrt(sq / n)).toBeCloseTo(NOISE_SD, 1);
  });
  it('writes each clip as T in [4, 10] frames [1, 14, 14] of a digit of its label', async () => {
    const dir = await writeMnistFrames(join(tmp, 'mnist'), { clips: 60, seed: 3 });
    const rows = manifest(dir);
    expect([count(rows, 'train'), count(rows, 'val'), count(rows, 'test')]).toEqual([40, 10, 10]);
    expect(readdirSync(join(dir, 'visual'))).toHaveLength(60);
    // each clip's first frame is explained (residual = the noise) by an MNIST image of its label:
    // the best of every test image under every shift and half
    const m = await loadMnistTest({ download: false });
    const small = Array.from({ length: m.count }, (_, i) => halfSize(m.pixels, i));
    for (const [id, label] of rows.slice(0, 4)) {
      const { data, shape } = npy(join(dir, 'visual', `${id}.npy`));
      expect(shape.slice(1)).toEqual([1, 14, 14]);
      expect(shape[0]).toBeGreaterThanOrEqual(4);
      expect(shape[0]).toBeLessThanOrEqual(10);
      let best = Infinity, bestLabel = -1;
      small.forEach((digit, i) => {
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            for (let half = 0; half < 4; half++) {
              let sse = 0;
              for (let y = 0; y < 14 && sse < best; y++) {
                for (let x = 0; x < 14; x++) {
                  const shown = [y < 7, y >= 7, x < 7, x >= 7][half]!;
                  const src = shown && y - dy >= 0 && y - dy < 14 && x - dx >= 0 && x - dx < 14 ? digit[(y - dy) * 14 + x - dx]! : 0;
                  sse += (data[y * 14 + x]! - src) ** 2;
                }
              }
              if (sse < best) { best = sse; bestLabel = m.labels[i]!; }
            }
          }
        }
      });
      expect(`d${bestLabel}`).toBe(label);
      expect(Math.sqrt(best / 196)).toBeLessThan(NOISE_SD * 1.2);
    }
  });
  it('the weak modality: its steps average to 0.15 x the class mean under unit noise', () => {
    const rng = new SeededRandom(1);
    const mean = Float32Array.from({ length: WEAK_DIM }, (_, j) => j - 3);
    let sum = 0, sq = 0, n = 0;
    for (let r = 0; r < 2000; r++) {
      const { data, shape } = weakSteps(rng, mean);
      expect(shape[0]).toBeGreaterThanOrEqual(8);
      expect(shape[0]).toBeLessThanOrEqual(16);
      for (let s = 0; s < shape[0]; s++) {
        for (let j = 0; j < WEAK_DIM; j++) {
          const e = data[s * WEAK_DIM + j]! - 0.15 * mean[j]!;
          sum += e; sq += e * e; n++;
        }
      }
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.sqrt(sq / n)).toBeCloseTo(1, 1);
  });
});
