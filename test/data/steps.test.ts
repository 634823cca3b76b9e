/** Which steps fill a batch slot: windows, and `uniform` (one step per segment of the whole sample). */
import { describe, expect, it } from 'vitest';
import { createLoader, openDataset, writeNpy } from '../../src/data/index.js';
import { Rng } from '../../src/data/rng.js';
import { chooseSteps } from '../../src/data/steps.js';
import type { LengthPolicy } from '../../src/data/types.js';
import { collect, put, tempDir } from './helpers/fixtures.js';
import { join } from 'node:path';

const uniform: LengthPolicy = { steps: 4, crop: 'uniform', mask: true };

describe('chooseSteps', () => {
  it('uniform in evaluation: the centre step of each of the equal segments, the same every time', () => {
    // 40 steps in 4 segments of 10: centres at 5, 15, 25, 35
    expect(chooseSteps(40, uniform, null)).toEqual([5, 15, 25, 35]);
    // 10 steps in 4 segments of 2.5: centres at 1.25, 3.75, 6.25, 8.75
    expect(chooseSteps(10, uniform, null)).toEqual([1, 3, 6, 8]);
    // shorter than the steps: steps repeat, every slot filled (no padding)
    expect(chooseSteps(3, uniform, null)).toEqual([0, 1, 1, 2]);
  });

  it('uniform in training: one step inside each segment, differing from epoch to epoch', () => {
    const draws = Array.from({ length: 20 }, (_, epoch) => chooseSteps(40, uniform, new Rng(7, epoch, 'clip', 'crop')));
    for (const d of draws) d.forEach((p, i) => { expect(p).toBeGreaterThanOrEqual(10 * i); expect(p).toBeLessThan(10 * (i + 1)); });
    expect(new Set(draws.map((d) => d.join())).size).toBeGreaterThan(15);
    // seeded: the same (seed, epoch, sample) draws the same steps
    expect(chooseSteps(40, uniform, new Rng(7, 3, 'clip', 'crop'))).toEqual(draws[3]);
  });

  it('windows: random start in training, centre in evaluation, at most the policy\'s steps', () => {
    expect(chooseSteps(10, { steps: 4, crop: 'random', mask: true }, null)).toEqual([3, 4, 5, 6]);
    expect(chooseSteps(10, { steps: 4, crop: 'centre', mask: true }, new Rng(1))).toEqual([3, 4, 5, 6]);
    expect(chooseSteps(2, { steps: 4, crop: 'random', mask: true }, new Rng(1))).toEqual([0, 1]);
    const w = chooseSteps(10, { steps: 4, crop: 'random', mask: true }, new Rng(1, 'x'));
    expect(w).toEqual([w[0]!, w[0]! + 1, w[0]! + 2, w[0]! + 3]);
  });
});

describe('crop=uniform through the folder dataset and the loader', () => {
  it('batches spread steps, all valid, centred in evaluation and drawn per epoch in training', async () => {
    const root = tempDir('uniform');
    put(join(root, 'manifest.csv'), 'id,label,split\na,x,train\nb,y,train\n');
    // step k of a sample holds the value k (a 1-dim sequence), so a batch shows which steps it took
    put(join(root, 's', 'a.npy'), writeNpy(Float32Array.from({ length: 40 }, (_, k) => k), [40, 1]));
    put(join(root, 's', 'b.npy'), writeNpy(Float32Array.from({ length: 3 }, (_, k) => k), [3, 1]));
    for (const id of ['a', 'b']) put(join(root, 'v', `${id}.npy`), writeNpy(new Float32Array(2), [2]));
    await expect(openDataset(`folder:${root}`, { 's.crop': 'middle' })).rejects.toThrow('option s.crop must be random | centre | uniform, got "middle"');
    const ds = await openDataset(`folder:${root}`, { 's.length': 4, 's.crop': 'uniform' });
    expect(ds.modalities[0]!.length).toEqual({ steps: 4, crop: 'uniform', mask: true });
    const [e] = await collect(createLoader(ds, 'train', { batchSize: 2, shuffle: false, train: false }));
    expect([...e!.inputs.s!.data]).toEqual([5, 15, 25, 35, 0, 1, 1, 2]);
    expect([...e!.inputs.s!.lengths!]).toEqual([4, 4]);
    const epochs = await Promise.all([0, 1, 2, 3].map(async (epoch) => {
      const [t] = await collect(createLoader(ds, 'train', { batchSize: 2, shuffle: false, train: true, seed: 1, epoch }));
      return [...t!.inputs.s!.data.subarray(0, 4)];
    }));
    for (const d of epochs) d.forEach((p, i) => expect(p >= 10 * i && p < 10 * (i + 1)).toBe(true));
    expect(new Set(epochs.map((d) => d.join())).size).toBeGreaterThan(1);
  });
});
