/**
 * Loader throughput on the avdigits train split (2,400 samples, batch 64):
 *   cold           features computed in the main thread (first epoch, no caches)
 *   cold, workers  the same on a pool of worker threads
 *   warm disk      a re-opened dataset reading a filled disk cache
 *   warm memory    a second epoch served from the in-memory cache (the default for avdigits)
 * and whether loading keeps up with training: the same training epoch (default small encoders,
 * Adam) fed by the loader and fed from batches already made into tensors in memory.
 * Run: npm run bench:loader -- [--workers N] [--batch N]
 * Prints one line per case and, last, one JSON object with the numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLoader, type LoaderOptions } from '../src/data/loader.js';
import { openDataset } from '../src/data/open.js';
import { buildModel } from '../src/models/classifier.js';
import { manualSeed, nn, optim, setNumThreads, tidy } from '../src/torch/index.js';
import { toTensors } from '../src/train/evaluate.js';
import type { TrainBatch } from '../src/methods/method.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const batchSize = arg('batch', 64);
const workers = arg('workers', 2);

async function epoch(opts: Partial<LoaderOptions>, epochs = 1): Promise<{ batches: number; seconds: number }> {
  const ds = await openDataset('avdigits');
  const loader = createLoader(ds, 'train', { batchSize, ...opts });
  let batches = 0;
  let seconds = 0;
  for (let e = 0; e < epochs; e++) {
    loader.epoch = e;
    const t0 = performance.now();
    for await (const b of loader) batches += b.size > 0 ? 1 : 0;
    seconds = (performance.now() - t0) / 1000; // the last epoch
  }
  await loader.close();
  return { batches: batches / epochs, seconds };
}

/**
 * Median of 3 training epochs fed by the loader (as the trainer does: await each batch, copy it
 * into tensors, step) against 3 fed from the same batches made into tensors beforehand.
 */
async function trainingEpochs(): Promise<{ cold_s: number; loader_s: number; memory_s: number; ratio: number }> {
  setNumThreads(2);
  manualSeed(0);
  const ds = await openDataset('avdigits');
  const model = buildModel(ds.modalities, ds.classes.length, { encoder: 'small-cnn', fusion: 'concat', width: 16 });
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const step = (tb: TrainBatch): void => tidy(() => {
    opt.zeroGrad();
    nn.F.crossEntropy(model.forward(tb.inputs).fused, tb.labels).backward();
    opt.step();
  });
  const loader = createLoader(ds, 'train', { batchSize, shuffle: true });
  const fedByLoader = async (e: number): Promise<number> => {
    loader.epoch = e;
    const t0 = performance.now();
    for await (const b of loader) {
      await new Promise<void>((r) => setImmediate(r)); // the trainer's per-step yield
      tidy(() => step(toTensors(b, 'cpu')));
    }
    return (performance.now() - t0) / 1000;
  };
  const cold = await fedByLoader(0);
  const inMemory: TrainBatch[] = [];
  loader.epoch = 1;
  for await (const b of loader) inMemory.push(toTensors(b, 'cpu'));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1] as number;
  const loaderTimes: number[] = [], memoryTimes: number[] = [];
  for (let e = 1; e <= 3; e++) {
    loaderTimes.push(await fedByLoader(e));
    const t0 = performance.now();
    for (const tb of inMemory) step(tb);
    memoryTimes.push((performance.now() - t0) / 1000);
  }
  await loader.close();
  const loaderS = median(loaderTimes), memoryS = median(memoryTimes);
  return { cold_s: cold, loader_s: loaderS, memory_s: memoryS, ratio: loaderS / memoryS };
}

const cacheDir = mkdtempSync(join(tmpdir(), 'mmgap-bench-'));
try {
  const results: Record<string, number> = {};
  const report = (name: string, r: { batches: number; seconds: number }): void => {
    results[name] = r.batches / r.seconds;
    console.log(`${name.padEnd(16)} ${(r.batches / r.seconds).toFixed(1).padStart(8)} batches/s  ${((r.batches * batchSize) / r.seconds).toFixed(0).padStart(8)} samples/s`);
  };
  report('cold', await epoch({ memoryCache: false }));
  report(`cold_workers${workers}`, await epoch({ memoryCache: false, workers, workerExecArgv: process.execArgv }));
  await epoch({ memoryCache: false, cacheDir }); // fills the disk cache (untimed)
  report('warm_disk', await epoch({ memoryCache: false, cacheDir }));
  report('warm_memory', await epoch({}, 2));
  const training = await trainingEpochs();
  console.log(`training epoch: ${training.loader_s.toFixed(2)} s fed by the loader, ${training.memory_s.toFixed(2)} s from tensors in memory ` +
    `(ratio ${training.ratio.toFixed(3)}; first, cold epoch with the loader ${training.cold_s.toFixed(2)} s)`);
  console.log(JSON.stringify({ dataset: 'avdigits', split: 'train', batch_size: batchSize, batches_per_s: results, training_epoch: training }));
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
