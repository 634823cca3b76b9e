import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DataError } from '../../src/data/errors.js';
import { writeNpy } from '../../src/data/io/npy.js';
import { createLoader } from '../../src/data/loader.js';
import { openDataset } from '../../src/data/open.js';
import { WorkerPool } from '../../src/data/pool.js';
import type { Dataset } from '../../src/data/types.js';
import { collect, frameFolder, put, tempDir, toneWav } from './helpers/fixtures.js';

/** Lets worker threads run the TypeScript sources (test-only; dist/ runs plain .js). */
const TS_WORKERS = ['--import', new URL('./helpers/register-ts.mjs', import.meta.url).href];

function folderDataset(n: number): string {
  const root = tempDir('loader');
  const rows = ['id,label,split'];
  for (let i = 0; i < n; i++) {
    rows.push(`s${i},${i % 3},train`);
    put(join(root, 'a', `s${i}.npy`), writeNpy(Float32Array.of(i, i + 0.5), [2]));
    put(join(root, 'b', `s${i}.wav`), toneWav(0.2, 8000, i));
  }
  put(join(root, 'manifest.csv'), rows.join('\n'));
  return root;
}

describe('createLoader', () => {
  it('batches, shuffles per (seed, epoch), covers each sample once, keeps labels/index/corruption aligned', async () => {
    const ds = await openDataset('avdigits', { regime: 'corrupt' });
    const loader = createLoader(ds, 'val', { batchSize: 64, shuffle: true, seed: 3 });
    expect(loader.length).toBe(8);
    const e0 = await collect(loader);
    expect(e0.map((b) => b.size)).toEqual([64, 64, 64, 64, 64, 64, 64, 52]);
    const idx = e0.flatMap((b) => [...b.index]);
    expect([...idx].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    for (const b of e0) {
      expect(b.inputs.audio.shape).toEqual([b.size, 1, 40, 48]);
      expect(b.inputs.visual.shape).toEqual([b.size, 1, 28, 28]);
      b.index.forEach((k, j) => {
        const s = ds.samples('val')[k];
        expect([b.ids[j], b.labels[j], b.corrupted[j]]).toEqual([s.id, s.label, s.corruption ? 1 : 0]);
      });
    }
    const again = await collect(loader);
    expect(again.flatMap((b) => [...b.index])).toEqual(idx);
    loader.epoch = 1;
    const e1 = await collect(loader);
    expect(e1.flatMap((b) => [...b.index])).not.toEqual(idx);
    const first = ds.samples('val')[e0[0].index[0]];
    expect(e0[0].inputs.audio.data.subarray(0, 1920)).toEqual((await ds.load(first, { train: false, seed: 0, epoch: 0 })).audio);
    expect(createLoader(ds, 'val', { batchSize: 64, dropLast: true }).length).toBe(7);
    expect((await collect(createLoader(ds, 'val', { batchSize: 64, dropLast: true }))).map((b) => b.size)).toEqual([64, 64, 64, 64, 64, 64, 64]);
    expect((await collect(createLoader(ds, 'test', { batchSize: 100 })))[0].index[99]).toBe(99);
  });

  it('loader.indices visits a subset (with repeats), shuffled per epoch, and rejects out-of-range indices', async () => {
    const ds = await openDataset('avdigits');
    const loader = createLoader(ds, 'test', { batchSize: 4, shuffle: true });
    loader.indices = Int32Array.of(5, 5, 7, 499, 0);
    expect(loader.length).toBe(2);
    const got = (await collect(loader)).flatMap((b) => [...b.index]);
    expect([...got].sort((a, b) => a - b)).toEqual([0, 5, 5, 7, 499]);
    loader.indices = Int32Array.of(500);
    await expect(collect(loader)).rejects.toThrow(RangeError);
    loader.indices = null;
    expect(loader.length).toBe(125);
  });

  it('worker threads give the same batches as the main thread', async () => {
    const ds = await openDataset('avdigits', { seed: 4 });
    const ref = await collect(createLoader(ds, 'test', { batchSize: 50, memoryCache: false }));
    const pooled = createLoader(ds, 'test', { batchSize: 50, workers: 2, memoryCache: false, workerExecArgv: TS_WORKERS });
    const got = await collect(pooled);
    await pooled.close();
    expect(got).toEqual(ref);
  });

  it('a worker reports a bad file with its name; skipBadSamples turns it into a recorded skip', async () => {
    const root = folderDataset(6);
    const bad = join(root, 'b', 's4.wav');
    writeFileSync(bad, readFileSync(bad).subarray(0, 60));
    const ds = await openDataset(`folder:${root}`, { audioRecipe: 'avdigits' });
    const strict = createLoader(ds, 'train', { batchSize: 4, shuffle: false, workers: 1, workerExecArgv: TS_WORKERS });
    const err = await collect(strict).catch((e: unknown) => e);
    await strict.close();
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).file).toBe(bad);
    const lenient = createLoader(ds, 'train', { batchSize: 4, shuffle: false, workers: 1, skipBadSamples: true, workerExecArgv: TS_WORKERS });
    const batches = await collect(lenient);
    await lenient.close();
    expect(batches.map((b) => b.ids)).toEqual([['s0', 's1', 's2', 's3'], ['s5']]);
    expect(lenient.skipped).toEqual([{ id: 's4', split: 'train', file: bad, reason: expect.stringContaining('truncated WAV') }]);
  });

  it('with nextEpochAhead a shuffling worker loader begins the next epoch ahead (none without): used when the next iteration is that epoch over every sample, withdrawn otherwise; skips count when consumed', async () => {
    const root = folderDataset(8);
    const bad = join(root, 'b', 's4.wav');
    writeFileSync(bad, readFileSync(bad).subarray(0, 60));
    const ds = await openDataset(`folder:${root}`, { audioRecipe: 'avdigits' });
    const opts = { batchSize: 2, shuffle: true, seed: 1, skipBadSamples: true, memoryCache: false } as const;
    const ref = createLoader(ds, 'train', opts);
    const run = vi.spyOn(WorkerPool.prototype, 'run');
    const pooled = createLoader(ds, 'train', { ...opts, workers: 1, nextEpochAhead: true, workerExecArgv: TS_WORKERS });
    const tasksOf = (epoch: number) => run.mock.calls.filter(([task]) => task.epoch === epoch).length;
    try {
      expect(await collect(pooled)).toEqual(await collect(ref));
      await new Promise((r) => setImmediate(r));
      // the window of 3 batches moved on into epoch 1 as epoch 0's last ones were taken
      expect(tasksOf(1)).toBe(3);
      await Promise.allSettled(run.mock.results.map((r) => r.value as Promise<unknown>));
      expect(pooled.skipped).toHaveLength(1); // s4 failed in epoch 1's batches too, not yet consumed
      ref.epoch = pooled.epoch = 1;
      expect(await collect(pooled)).toEqual(await collect(ref));
      expect(tasksOf(1)).toBe(4); // no batch made twice
      expect(pooled.skipped).toHaveLength(2);
      expect(tasksOf(2)).toBe(3);
      // epoch 2 over a subset: the batches begun for the whole split are not used
      ref.epoch = pooled.epoch = 2;
      ref.indices = pooled.indices = Int32Array.of(0, 1, 2, 3, 5);
      expect(await collect(pooled)).toEqual(await collect(ref));
      expect(tasksOf(2)).toBe(3 + 3);
      expect(tasksOf(3)).toBe(0); // nothing is begun ahead of a subset
      expect(pooled.skipped).toHaveLength(2);
      // without the option, an epoch ends without a task of the next one
      const plain = createLoader(ds, 'train', { ...opts, epoch: 10, workers: 1, workerExecArgv: TS_WORKERS });
      await collect(plain).finally(() => plain.close());
      expect([tasksOf(10), tasksOf(11)]).toEqual([4, 0]);
    } finally {
      run.mockRestore();
      await pooled.close();
    }
  });

  it('the disk cache stores deterministic features once (atomically) and serves them back', async () => {
    const root = folderDataset(5);
    const cacheDir = tempDir('cache');
    const ds = await openDataset(`folder:${root}`, { audioRecipe: 'avdigits' });
    const cold = await collect(createLoader(ds, 'train', { batchSize: 2, shuffle: false, cacheDir, memoryCache: false }));
    const files = readdirSync(join(cacheDir, 'folder'), { recursive: true }).filter((f) => String(f).endsWith('.npy'));
    expect(files).toHaveLength(10);
    expect(readdirSync(join(cacheDir, 'folder'), { recursive: true }).some((f) => String(f).includes('.tmp'))).toBe(false);
    // a reopened dataset whose source files changed still reads the cache: proof that it is used
    writeFileSync(join(root, 'a', 's0.npy'), writeNpy(Float32Array.of(-1, -1), [2]));
    const reopened = await openDataset(`folder:${root}`, { audioRecipe: 'avdigits' });
    const warm = await collect(createLoader(reopened, 'train', { batchSize: 2, shuffle: false, cacheDir, memoryCache: false }));
    expect(warm).toEqual(cold);
    // another recipe is another key
    const other = await openDataset(`folder:${root}`, { audioRecipe: 'ks' });
    const fresh = await collect(createLoader(other, 'train', { batchSize: 2, shuffle: false, cacheDir, memoryCache: false }));
    expect([...fresh[0].inputs.a.data.subarray(0, 2)]).toEqual([-1, -1]);
  });

  it('augmented features are recomputed in training and never cached', async () => {
    const root = tempDir('aug');
    put(join(root, 'manifest.csv'), 'id,label,split\nv0,0,train\nv1,1,train\n');
    for (const [i, id] of ['v0', 'v1'].entries()) {
      put(join(root, 'a', `${id}.npy`), writeNpy(Float32Array.of(i), [1]));
      frameFolder(join(root, 'v', id), 6, i);
    }
    const ds: Dataset = await openDataset(`folder:${root}`, { imageSize: 8, frames: 2 });
    const cacheDir = tempDir('cache-aug');
    const loader = createLoader(ds, 'train', { batchSize: 2, shuffle: false, cacheDir, seed: 1 });
    const e0 = await collect(loader);
    loader.epoch = 1;
    const e1 = await collect(loader);
    expect(e1[0].inputs.v.data).not.toEqual(e0[0].inputs.v.data);
    expect(e1[0].inputs.a.data).toEqual(e0[0].inputs.a.data);
    expect(readdirSync(join(cacheDir, 'folder'), { recursive: true }).filter((f) => String(f).endsWith('.npy'))).toHaveLength(2);
  });
});
