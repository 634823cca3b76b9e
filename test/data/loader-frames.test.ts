/** The loader on a frame dataset (CREMA-D layout): worker threads run the whole frame recipe and hand over packed batches. */
import { describe, expect, it, vi } from 'vitest';
import { createLoader } from '../../src/data/loader.js';
import { openDataset } from '../../src/data/open.js';
import { collect, cremadFixture } from './helpers/fixtures.js';

const TS_WORKERS = ['--import', new URL('./helpers/register-ts.mjs', import.meta.url).href];

describe('frame loader in worker threads', () => {
  it('gives the main thread\'s augmented batches, packed in the worker: no per-sample copy in the main thread', async () => {
    const { root } = cremadFixture();
    const ds = await openDataset(`cremad:${root}`, { imageSize: 32 });
    const opts = { batchSize: 4, shuffle: true, seed: 5, epoch: 2, memoryCache: false } as const;
    const ref = await collect(createLoader(ds, 'train', opts));
    const pooled = createLoader(ds, 'train', { ...opts, workers: 2, workerExecArgv: TS_WORKERS });
    const set = vi.spyOn(Float32Array.prototype, 'set');
    const got = await collect(pooled);
    const copied = set.mock.calls.filter(([src]) => (src as ArrayLike<number>).length >= 3 * 32 * 32).length;
    set.mockRestore();
    await pooled.close();
    expect(got).toEqual(ref);
    expect(got[0].inputs.visual.shape).toEqual([4, 2, 3, 32, 32]);
    expect(copied).toBe(0);
  });
});
