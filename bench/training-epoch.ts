/**
 * Whether loading keeps up with training: training epochs (the default small encoders, Adam) fed by
 * a loader, as the trainer feeds them (await each batch, yield a turn, copy it into tensors, step),
 * against epochs fed from the same batches made into tensors beforehand, in `rounds` interleaved
 * pairs (which of the two goes first alternates), after one untimed epoch of each: the heap keeps
 * growing for two or three epochs after the first (about 150,000 page faults in the first epoch
 * from memory, 25,000 in the third), which would have slowed the first pair's epoch from memory
 * most. This VM's speed drifts by tens of percent from one minute to the next, so the overhead is
 * the median of the pairs' ratios, each pair measured back to back.
 */
import { createLoader, type LoaderOptions } from '../src/data/loader.js';
import type { Dataset } from '../src/data/types.js';
import type { TrainBatch } from '../src/methods/method.js';
import { buildModel } from '../src/models/classifier.js';
import { manualSeed, nn, optim, setNumThreads, tidy } from '../src/torch/index.js';
import { toTensors } from '../src/train/evaluate.js';
import { median } from './stats.js';

export interface TrainingEpochs {
  /** The first epoch fed by the loader (worker start-up, caches filling). */
  cold_s: number;
  loader_s: number;
  memory_s: number;
  /** The median over the pairs of (epoch fed by the loader) / (epoch from memory): 1.10 is 10 % overhead. */
  ratio: number;
  /** Every pair's ratio, in order. */
  ratios: number[];
}

export async function trainingEpochs(ds: Dataset, loaderOptions: Partial<LoaderOptions> & { batchSize: number }, threads: number, rounds = 5): Promise<TrainingEpochs> {
  setNumThreads(threads);
  manualSeed(0);
  const model = buildModel(ds.modalities, ds.classes.length, { encoder: 'small-cnn', fusion: 'concat', width: 16 });
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const step = (tb: TrainBatch): void => tidy(() => {
    opt.zeroGrad();
    nn.F.crossEntropy(model.forward(tb.inputs).fused, tb.labels).backward();
    opt.step();
  });
  const loader = createLoader(ds, 'train', { shuffle: true, ...loaderOptions });
  const fedByLoader = async (e: number): Promise<number> => {
    loader.epoch = e;
    const t0 = performance.now();
    for await (const b of loader) {
      await new Promise<void>((r) => setImmediate(r)); // the trainer's per-step yield
      tidy(() => {
        const tb = toTensors(b, 'cpu');
        loader.recycle(b);
        step(tb);
      });
    }
    return (performance.now() - t0) / 1000;
  };
  const cold = await fedByLoader(0);
  const inMemory: TrainBatch[] = [];
  loader.epoch = 1;
  for await (const b of loader) inMemory.push(toTensors(b, 'cpu'));
  const fromMemory = (): number => {
    const t0 = performance.now();
    for (const tb of inMemory) step(tb);
    return (performance.now() - t0) / 1000;
  };
  await fedByLoader(1);
  fromMemory();
  const loaderTimes: number[] = [], memoryTimes: number[] = [];
  for (let e = 2; e <= rounds + 1; e++) {
    if (e % 2 === 0) {
      loaderTimes.push(await fedByLoader(e));
      memoryTimes.push(fromMemory());
    } else {
      memoryTimes.push(fromMemory());
      loaderTimes.push(await fedByLoader(e));
    }
  }
  await loader.close();
  const ratios = loaderTimes.map((t, i) => t / (memoryTimes[i] as number));
  return { cold_s: cold, loader_s: median(loaderTimes), memory_s: median(memoryTimes), ratio: median(ratios), ratios };
}
