/** The loader on a frame dataset (CREMA-D layout): worker threads run the whole frame recipe and hand over packed batches. */
import { getEventListeners, setMaxListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { createLoader } from '../../src/data/loader.js';
import { openDataset } from '../../src/data/open.js';
import { WorkerPool, type WorkerTask } from '../../src/data/pool.js';
import { writeRaggedDataset } from '../helpers/ragged-dataset.js';
import { collect, cremadFixture } from './helpers/fixtures.js';

const TS_WORKERS = ['--import', new URL('./helpers/register-ts.mjs', import.meta.url).href];

/** A pool of `size` workers over the CREMA-D fixture, and a task of some of its training samples. */
async function fixturePool(size: number): Promise<{ pool: WorkerPool; task: (indices: number[]) => WorkerTask }> {
  const { root } = cremadFixture();
  const ds = await openDataset(`cremad:${root}`, { imageSize: 64 });
  const pool = new WorkerPool(ds.source, { size, execArgv: TS_WORKERS });
  return { pool, task: (indices) => ({ split: 'train', indices, train: true, seed: 0, epoch: 0, modalities: indices.map(() => ['audio', 'visual']) }) };
}

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

  it('recycled batch buffers (Loader.recycle) are written again by later batches and epochs, which stay equal to the main thread\'s', async () => {
    const { root } = cremadFixture();
    const ds = await openDataset(`cremad:${root}`, { imageSize: 32 });
    const opts = { batchSize: 3, shuffle: true, seed: 5, memoryCache: false } as const;
    const ref = createLoader(ds, 'train', opts);
    const pooled = createLoader(ds, 'train', { ...opts, workers: 1, workerExecArgv: TS_WORKERS });
    let detached = 0;
    for (let epoch = 0; epoch < 3; epoch++) {
      ref.epoch = pooled.epoch = epoch;
      const want = await collect(ref);
      const got = [];
      for await (const b of pooled) {
        got.push({ ...b, inputs: Object.fromEntries(Object.entries(b.inputs).map(([m, x]) => [m, { ...x, data: Float32Array.from(x.data) }])) });
        pooled.recycle(b);
        if (b.inputs.visual.data.length === 0) detached++;
      }
      expect(got).toEqual(want);
    }
    await pooled.close();
    // every batch's frames came packed from the worker and went back to it
    expect(detached).toBe(3 * pooled.length);
  });

  it('a worker finishes its tasks in the order they came: a large batch sent first is not overtaken by a small one (the first batch of an epoch waits for its own samples only)', async () => {
    const { pool, task } = await fixturePool(1);
    const done: string[] = [];
    try {
      await pool.run(task([0])); // the worker has opened its dataset
      const big = pool.run(task(Array.from({ length: 12 }, (_, i) => i))).then(() => done.push('big'));
      const small = pool.run(task([3])).then(() => done.push('small'));
      await Promise.all([big, small]);
    } finally {
      await pool.close();
    }
    // (The pool hands a worker one task at a time, in order; a worker interleaving its tasks' loads finished the one-sample task first.)
    expect(done).toEqual(['big', 'small']);
  });

  it('a queued task goes to the first worker to be free: small tasks behind a large one all run on the other worker and finish first', async () => {
    const { pool, task } = await fixturePool(2);
    const done: string[] = [];
    try {
      await Promise.all([pool.run(task([0])), pool.run(task([1]))]); // both workers have opened their dataset
      const big = pool.run(task(Array.from({ length: 48 }, (_, i) => i % 12))).then(() => done.push('big'));
      const small = [1, 2, 3].map((k) => pool.run(task([k])).then(() => done.push(`small ${k}`)));
      await Promise.all([big, ...small]);
    } finally {
      await pool.close();
    }
    // Assigned ahead to the least busy worker, "small 2" queued behind the large task and finished after it.
    expect(done).toEqual(['small 1', 'small 2', 'small 3', 'big']);
  });

  it('a task withdrawn (AbortSignal) while queued never runs and rejects; one already running still answers', async () => {
    const { pool, task } = await fixturePool(1);
    try {
      const drop = new AbortController();
      const running = pool.run(task([0, 1]), drop.signal);
      const queued = pool.run(task([2]), drop.signal);
      const after = pool.run(task([3]));
      drop.abort();
      await expect(queued).rejects.toThrow(/withdrawn/);
      expect((await running).map((r) => r.index)).toEqual([0, 1]);
      expect((await after).map((r) => r.index)).toEqual([3]);
      await expect(pool.run(task([4]), drop.signal)).rejects.toThrow(/withdrawn/);
      // an epoch's batches share one signal: each stops listening once it leaves the queue
      const pass = new AbortController();
      setMaxListeners(0, pass.signal); // as the loader does for its passes (20 queued at once are not a leak)
      const many = Array.from({ length: 20 }, (_, k) => pool.run(task([k % 12]), pass.signal));
      expect(getEventListeners(pass.signal, 'abort').length).toBeLessThanOrEqual(20);
      await Promise.all(many);
      expect(getEventListeners(pass.signal, 'abort')).toHaveLength(0);
    } finally {
      await pool.close();
    }
  });

  it('a prefetch window larger than 10 batches queues them without Node\'s listener-leak warning', async () => {
    const { root } = cremadFixture();
    const ds = await openDataset(`cremad:${root}`, { imageSize: 16 });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const loader = createLoader(ds, 'train', { batchSize: 1, workers: 1, prefetch: 12, workerExecArgv: TS_WORKERS });
    try {
      expect(await collect(loader)).toHaveLength(12);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
      await loader.close();
    }
    expect(warnings).toEqual([]);
  });

  it('the dataset writes a sample\'s frames straight into the slot a worker offers (LoadOptions.into) and returns that slot', async () => {
    const { root } = cremadFixture();
    const ds = await openDataset(`cremad:${root}`, { imageSize: 32 });
    const sample = ds.samples('train')[1];
    const opts = { train: true, seed: 3, epoch: 1, modalities: ['visual'] };
    const plain = await ds.load(sample, opts);
    const batch = new Float32Array(3 * 2 * 3 * 32 * 32);
    const slot = batch.subarray(2 * 3 * 32 * 32, 4 * 3 * 32 * 32);
    const got = await ds.load(sample, { ...opts, into: { visual: slot } });
    expect(got.visual).toBe(slot);
    expect(Array.from(slot)).toEqual(Array.from(plain.visual));
    expect(batch.subarray(0, 2 * 3 * 32 * 32).every((v) => v === 0)).toBe(true);
    await expect(ds.load(sample, { ...opts, into: { visual: new Float32Array(10) } })).rejects.toThrow(/^loadFrames: out holds 10 floats, but 2 frames of 3x32x32 are 6144/);
  });

  it('packs datasets that ignore `into` and variable-length modalities too (a ragged folder: [T, 6], [T, 8, 8], [10])', async () => {
    const ds = await openDataset(`folder:${writeRaggedDataset({ vector: true })}`, {});
    const opts = { batchSize: 5, shuffle: true, seed: 2, memoryCache: false } as const;
    const ref = await collect(createLoader(ds, 'train', opts));
    const pooled = createLoader(ds, 'train', { ...opts, workers: 2, workerExecArgv: TS_WORKERS });
    const got = await collect(pooled);
    await pooled.close();
    expect(got).toEqual(ref);
    expect(got[0].inputs.mfcc.lengths).toBeDefined();
  });
});
