/**
 * Loader throughput on the avdigits train split (2,400 samples, batch 64):
 *   cold           features computed in the main thread (first epoch, no caches)
 *   cold, workers  the same on a pool of worker threads
 *   warm disk      a re-opened dataset reading a filled disk cache
 *   warm memory    a second epoch served from the in-memory cache (the default for avdigits)
 * and whether loading keeps up with training: the same training epoch (default small encoders,
 * Adam) fed by the loader and fed from batches already made into tensors in memory.
 * Run: npm run bench:loader -- [options] (--help lists them)
 * With --dataset frames, the frame-dataset benchmark against PyTorch instead (bench/loader-frames.ts).
 * Prints one line per case and, last, one JSON object with the numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLoader, type LoaderOptions } from '../src/data/loader.js';
import { openDataset } from '../src/data/open.js';
import { framesBench } from './loader-frames.js';
import { trainingEpochs } from './training-epoch.js';
import { benchArgs } from './args.js';

const opts = benchArgs('Usage: npm run bench:loader -- [options]', {
  dataset: { kind: 'string', choices: ['avdigits', 'frames'], default: 'avdigits', help: 'avdigits: the loader alone; frames: a frame dataset against PyTorch (bench/loader-frames.ts)' },
  batch: { kind: 'int', default: 64, help: 'batch size' },
  workers: { kind: 'int', default: 2, help: 'worker threads' },
  json: { kind: 'flag', help: 'frames: only the JSON lines on stdout' },
  clips: { kind: 'int', default: 512, help: 'frames: training clips to generate' },
  imageSize: { kind: 'int', default: 224, help: 'frames: image size' },
  epochs: { kind: 'int', default: 3, help: 'frames: timed epochs' },
  root: { kind: 'string', help: 'frames: the generated folder, kept for reuse (default in the temp folder)' },
  noTraining: { kind: 'flag', help: 'frames: skip the training-epoch comparison' },
});
const batchSize = opts.batch;
const workers = opts.workers;

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

if (opts.dataset === 'frames') {
  await framesBench({ json: opts.json, clips: opts.clips, workers, batchSize, imageSize: opts.imageSize, epochs: opts.epochs, root: opts.root, training: !opts.noTraining });
} else {
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
    const training = await trainingEpochs(await openDataset('avdigits'), { batchSize }, 2);
    console.log(`training epoch: ${training.loader_s.toFixed(2)} s fed by the loader, ${training.memory_s.toFixed(2)} s from tensors in memory ` +
      `(medians; the median of the paired ratios ${training.ratio.toFixed(3)}: ${training.ratios.map((r) => r.toFixed(3)).join(', ')}; first, cold epoch with the loader ${training.cold_s.toFixed(2)} s)`);
    console.log(JSON.stringify({ dataset: 'avdigits', split: 'train', batch_size: batchSize, batches_per_s: results, training_epoch: training }));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
