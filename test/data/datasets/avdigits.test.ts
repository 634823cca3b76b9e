import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../../src/data/datasets/mnist.js';
import { openDataset } from '../../../src/data/open.js';
import { SPLITS, type Dataset } from '../../../src/data/types.js';

const eval0 = { train: false, seed: 0, epoch: 0 };

describe('avdigits on the real FSDD + MNIST', async () => {
  const ds: Dataset = await openDataset('avdigits');
  const mnist = loadMnist();

  it('has the documented splits, shapes and classes', () => {
    expect(SPLITS.map((s) => ds.samples(s).length)).toEqual([2400, 300, 300]);
    expect(ds.classes).toHaveLength(10);
    expect(ds.modalities).toEqual([
      { name: 'audio', shape: [1, 40, 48], augmented: false },
      { name: 'visual', shape: [1, 28, 28], augmented: false },
    ]);
    for (const split of SPLITS) {
      for (const s of ds.samples(split)) {
        const take = Number(s.meta!.take);
        expect(take < 5 ? 'test' : take < 10 ? 'val' : 'train').toBe(split);
        expect(s.index).toBe(ds.samples(split).indexOf(s));
      }
    }
  });

  it('pairs each clip with a distinct MNIST image of its digit from the right pool', () => {
    const trainval = [...ds.samples('train'), ...ds.samples('val')].filter((s) => s.corruption?.kind !== 'swap');
    const test = ds.samples('test').filter((s) => s.corruption?.kind !== 'swap');
    for (const [list, lo, hi] of [
      [trainval, 0, 8000],
      [test, 8000, 10000],
    ] as const) {
      const images = list.map((s) => Number(s.meta!.image));
      expect(new Set(images).size).toBe(images.length);
      for (const s of list) {
        const img = Number(s.meta!.image);
        expect(img >= lo && img < hi).toBe(true);
        expect(mnist.labels[img]).toBe(s.label);
      }
    }
  });

  it('MNIST global order: 10,000 images, each prefix stratified across digits', () => {
    expect(mnist.count).toBe(10000);
    const testShare = Array.from({ length: 10 }, (_, d) => mnist.labels.subarray(8000).filter((l) => l === d).length / mnist.labels.filter((l) => l === d).length);
    for (const share of testShare) expect(Math.abs(share - 0.2)).toBeLessThan(0.01);
  });

  it('corrupts exactly 20 % of each split in the visual modality, kinds alternating', () => {
    for (const split of SPLITS) {
      const c = ds.samples(split).filter((s) => s.corruption);
      expect(c.length).toBe(0.2 * ds.samples(split).length);
      expect(c.every((s) => s.corruption!.modality === 'visual')).toBe(true);
      const occluded = c.filter((s) => s.corruption!.kind === 'occlusion').length;
      expect(occluded).toBe(c.length / 2);
    }
  });

  it('is deterministic for a seed, and the seed changes pairing, corruption and noise', async () => {
    const again = await openDataset('avdigits');
    const other = await openDataset('avdigits', { seed: 1 });
    const s = ds.samples('train')[17];
    expect(again.samples('train')[17]).toEqual(s);
    expect(await again.load(again.samples('train')[17], eval0)).toEqual(await ds.load(s, eval0));
    expect(await ds.load(s, { train: true, seed: 9, epoch: 4 })).toEqual(await ds.load(s, eval0));
    expect(other.samples('train').map((x) => x.meta!.image)).not.toEqual(ds.samples('train').map((x) => x.meta!.image));
    expect(other.recipe).not.toBe(ds.recipe);
  });

  it('corrupted audio differs from the clean clip; visual corruption options work', async () => {
    const clean = await openDataset('avdigits', { corruptFraction: 0, corruptModality: 'audio' });
    expect(SPLITS.every((sp) => clean.samples(sp).every((s) => s.corruption === null))).toBe(true);
    const aud = await openDataset('avdigits', { corruptModality: 'audio' });
    const bad = aud.samples('test').find((s) => s.corruption?.kind === 'silence')!;
    const a = (await aud.load(bad, eval0)).audio;
    const b = (await clean.load(clean.samples('test')[bad.index], eval0)).audio;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
    expect(diff / a.length).toBeGreaterThan(0.3);

    const vis = await openDataset('avdigits', { corruptModality: 'visual', corruptFraction: 0.5 });
    const kinds = vis.samples('train').filter((s) => s.corruption).map((s) => s.corruption!.kind);
    expect(new Set(kinds)).toEqual(new Set(['occlusion', 'swap']));
    for (const s of vis.samples('train').filter((x) => x.corruption?.kind === 'swap')) expect(mnist.labels[Number(s.meta!.image)]).not.toBe(s.label);
    await expect(openDataset('avdigits', { corruptKinds: ['blur'] })).rejects.toThrow(/corruptKinds for visual must be among occlusion, swap/);
    // The global audio noise: off gives different (clean) features, a bad value a named error.
    const quiet = await openDataset('avdigits', { audioSnrDb: null });
    const s0 = ds.samples('train').find((s) => !s.corruption)!;
    expect((await quiet.load(quiet.samples('train')[s0.index], eval0)).audio).not.toEqual((await ds.load(s0, eval0)).audio);
    await expect(openDataset('avdigits', { audioSnrDb: 'loud' })).rejects.toThrow(/audioSnrDb must be a number of dB or null/);
  });

  it('visual features are standardised (mean ~0, std ~1 over the clean training images)', async () => {
    let sum = 0;
    let sq = 0;
    let n = 0;
    for (const s of ds.samples('train').slice(0, 300)) {
      const v = (await ds.load(s, { ...eval0, modalities: ['visual'] })).visual;
      for (const x of v) {
        sum += x;
        sq += x * x;
        n++;
      }
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.1);
    expect(Math.abs(Math.sqrt(sq / n) - 1)).toBeLessThan(0.15);
  });
});
