/**
 * The batch loader: seeded epoch-dependent shuffling, batching, feature computation in the main
 * thread or a worker pool, a few batches of prefetch (into the next epoch too, on request), and two
 * caches for deterministic features (an in-memory one, on by default for small datasets such as
 * avdigits, and an optional disk one).
 */
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { FeatureCache } from './cache.js';
import { loadSamples } from './load-samples.js';
import { normalizeBatch, type Normalization } from './normalize.js';
import { reviveError, WorkerPool, type WorkerResult } from './pool.js';
import { Rng } from './rng.js';
import { chooseSteps } from './steps.js';
import type { Batch, Dataset, ModalitySpec, Sample, SkippedSample, Split } from './types.js';

/** Options of `createLoader`. */
export interface LoaderOptions {
  batchSize: number;
  /** Reshuffle every epoch from (seed, epoch). Default: true for train, false otherwise. */
  shuffle?: boolean;
  /** Seeds shuffling and augmentations (default 0). */
  seed?: number;
  /** Initial epoch (default 0); change it with `loader.epoch = e` before iterating again. */
  epoch?: number;
  /** Augmentation / random frame choice. Default: true for the train split. */
  train?: boolean;
  /**
   * Worker threads computing features (default 0: the main thread). 'auto': the cores less one
   * (left to the trainer) when features are computed every epoch (augmented frames, or more than
   * the memory cache takes), else 0 (avdigits: computed once, then served from memory); also 0
   * when mmgap runs from its TypeScript sources, which a worker thread cannot load.
   */
  workers?: number | 'auto';
  /** Batches prepared ahead of the consumer (default max(2, workers)). */
  prefetch?: number;
  /**
   * With worker threads, a shuffling loader over every sample (`indices` null) begins the next
   * epoch's first batches, within the prefetch window, while the current epoch's last ones are
   * consumed, so that a trainer does not wait for a whole batch at each epoch's start; the next
   * iteration uses them when it is that epoch over every sample, and withdraws them otherwise.
   * Default false. The trainer turns it on when the model is on a GPU, where the cores are free
   * between epochs; training on the CPU, libtorch has every core in the evaluation passes those
   * batches would be made during (docs/RESULTS.md §4: not faster there).
   */
  nextEpochAhead?: boolean;
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  /** Skip samples whose features fail to load, listing them in `loader.skipped` (default false: throw). */
  skipBadSamples?: boolean;
  /** Folder of the disk feature cache (default: none). */
  cacheDir?: string | null;
  /** Keep deterministic features in memory: true, false, or 'auto' (default: when they fit in 512 MiB). */
  memoryCache?: boolean | 'auto';
  /** Extra Node flags for the worker threads. */
  workerExecArgv?: string[];
  /** Per-feature statistics to standardise the batches with (fitted on the training split). */
  normalize?: Normalization | null;
}

/** An async iterable of batches. */
export interface Loader extends AsyncIterable<Batch> {
  /** Batches per epoch (before any load-time skip; a batch whose samples all fail is not yielded), for the current `indices`. */
  readonly length: number;
  /** The epoch of the next iteration. */
  epoch: number;
  /**
   * Split indices to visit in the next iteration (repeats allowed: resampling; a subset:
   * purification), or null for every sample once. Shuffled like the full split when shuffling.
   */
  indices: Int32Array | null;
  /** Samples skipped so far: those skipped when the dataset was opened, then those that failed to load. */
  readonly skipped: SkippedSample[];
  /**
   * Hands a batch's buffers back to the worker threads once it has been copied into tensors (the
   * trainer does so after each step's copy): later batches are written into them instead of new
   * 10-100 MB allocations. The data a worker filled is detached (empty) afterwards; other data
   * is left as it is. Optional: without it, the buffers are freed by garbage collection.
   */
  recycle(batch: Batch): void;
  /** Stops the worker threads (iteration after close is an error). */
  close(): Promise<void>;
}

/** Running from the .ts sources (tests): a worker thread could not load load-worker.ts without a loader hook. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const memoryCaches = new WeakMap<Dataset, Map<string, Float32Array>>();
const AUTO_MEMORY_LIMIT = 512 * 2 ** 20;

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Whether `n` values are one sample of `m`: its full size, or any whole number of steps under a length policy. */
function fitsModality(m: ModalitySpec, n: number): boolean {
  if (!m.length) return n === sizeOf(m.shape);
  const step = sizeOf(m.shape.slice(1));
  return n > 0 && n % step === 0;
}

/**
 * Copies one sample of a modality with a length policy into its batch slot: the steps
 * `chooseSteps` picks (a seeded random choice in training when the policy has one), zero-padded
 * after them. Returns the valid steps.
 */
function fitSteps(m: ModalitySpec, src: Float32Array, dst: Float32Array, offset: number, rng: Rng | null): number {
  const step = sizeOf(m.shape.slice(1));
  const picks = chooseSteps(src.length / step, m.length!, rng);
  picks.forEach((p, i) => dst.set(src.subarray(p * step, (p + 1) * step), offset + i * step));
  return picks.length;
}
/** The order in which a shuffling loader visits `base` in `epoch` (distributed training shards this same order). */
export function shuffledOrder(base: Int32Array, seed: number, epoch: number, split: Split): Int32Array {
  return new Rng(seed, epoch, 'shuffle', split).permutation(base.length).map((j) => base[j] as number);
}

/** The batch's data of a modality when its samples' features lie back to back, in order, filling one whole buffer (a worker packed them); else null. */
function packedRun(parts: Float32Array[], size: number): Float32Array | null {
  const buffer = parts[0].buffer;
  if (buffer.byteLength !== parts.length * size * 4) return null;
  for (let j = 0; j < parts.length; j++) {
    if (parts[j].buffer !== buffer || parts[j].byteOffset !== j * size * 4 || parts[j].length !== size) return null;
  }
  return new Float32Array(buffer, 0, parts.length * size);
}

/** A batch as made (null when every sample of it failed and was skipped) and the samples it skipped. */
interface Made {
  batch: Batch | null;
  skips: SkippedSample[];
}

/** One iteration's batches, made in order, a window of them ahead of the consumer. */
interface Pass {
  epoch: number;
  indices: Int32Array | null;
  order: Int32Array;
  length: number;
  next: number;
  pending: Promise<Made>[];
  /** Withdraws its batches still queued for the workers (a pass begun ahead that the next iteration does not use). */
  drop: AbortController;
}

/** Creates a loader over one split of a dataset. */
export function createLoader(dataset: Dataset, split: Split, options: LoaderOptions): Loader {
  const batchSize = options.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer (got ${batchSize})`);
  const samples = dataset.samples(split);
  const train = options.train ?? split === 'train';
  const shuffle = options.shuffle ?? split === 'train';
  const seed = options.seed ?? 0;
  const skip = options.skipBadSamples ?? false;
  const batchesFor = (n: number): number => (options.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize));
  const disk = options.cacheDir ? new FeatureCache(options.cacheDir, dataset) : null;
  const sizes = new Map(dataset.modalities.map((m) => [m.name, sizeOf(m.shape)]));
  const specs = new Map(dataset.modalities.map((m) => [m.name, m]));
  const cacheable = dataset.modalities.filter((m) => !train || !m.augmented).map((m) => m.name);
  const bytesToCache = samples.length * cacheable.reduce((a, m) => a + 4 * sizes.get(m)!, 0);
  const useMemory = options.memoryCache === 'auto' || options.memoryCache === undefined ? bytesToCache <= AUTO_MEMORY_LIMIT : options.memoryCache;
  if (useMemory && !memoryCaches.has(dataset)) memoryCaches.set(dataset, new Map());
  const memory = useMemory ? memoryCaches.get(dataset)! : null;
  const everyEpoch = !useMemory || cacheable.length < dataset.modalities.length;
  const workers = options.workers === 'auto' ? (everyEpoch && !FROM_SOURCES ? Math.max(0, availableParallelism() - 1) : 0) : (options.workers ?? 0);
  const prefetch = Math.max(1, options.prefetch ?? Math.max(2, workers));
  const skipped: SkippedSample[] = dataset.skipped.filter((s) => s.split === split || s.split === null);
  let pool: WorkerPool | null = null;
  /** Batch data buffers a worker filled whole (what `recycle` may hand back). */
  const fromWorkers = new WeakSet<ArrayBuffer>();
  let inThread: Promise<unknown> = Promise.resolve();
  let closed = false;

  const memKey = (s: Sample, m: string): string => `${split}/${s.index}/${m}`;

  /** Features of some samples, in order; failures are returned, not thrown. */
  function compute(batch: Sample[], need: string[][], epoch: number, signal: AbortSignal): Promise<WorkerResult[]> {
    if (workers > 0) {
      pool ??= new WorkerPool(dataset.source, { size: workers, execArgv: options.workerExecArgv });
      return pool.run({ split, indices: batch.map((s) => s.index), train, seed, epoch, modalities: need }, signal);
    }
    // In this thread, too, batches are computed one after another (see load-worker.ts).
    const run = inThread.then(() => loadSamples(dataset, batch, (i) => ({ train, seed, epoch, modalities: need[i] })));
    inThread = run.catch(() => undefined);
    return run;
  }

  /** Batch `b` of `order`, and the samples skipped from it (recorded once the batch is consumed). */
  async function makeBatch(order: Int32Array, b: number, epoch: number, signal: AbortSignal): Promise<Made> {
    const skips: SkippedSample[] = [];
    const picked = Array.from(order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize)), (i) => samples[i]);
    const features: Record<string, Float32Array>[] = picked.map(() => ({}));
    await Promise.all(
      picked.map(async (s, i) => {
        for (const m of cacheable) {
          const spec = specs.get(m)!;
          const hit = memory?.get(memKey(s, m)) ?? (disk ? await disk.get(s, m, (n) => fitsModality(spec, n)) : null);
          if (hit) {
            features[i][m] = hit;
            memory?.set(memKey(s, m), hit);
          }
        }
      }),
    );
    const todo = picked.map((_, i) => i).filter((i) => dataset.modalities.some((m) => !(m.name in features[i])));
    const failed = new Set<number>();
    if (todo.length > 0) {
      const need = todo.map((i) => dataset.modalities.map((m) => m.name).filter((m) => !(m in features[i])));
      const results = await compute(
        todo.map((i) => picked[i]),
        need,
        epoch,
        signal,
      );
      const writes: Promise<void>[] = [];
      for (const [k, i] of todo.entries()) {
        const s = picked[i];
        const r = results[k]!;
        if (r.error) {
          if (!skip || r.error.fatal) throw reviveError(r.error);
          skips.push({ id: s.id, split, file: r.error.file ?? '', ...(r.error.line !== undefined && { line: r.error.line }), reason: r.error.message });
          failed.add(i);
          continue;
        }
        for (const [m, data] of Object.entries(r.features!)) {
          const spec = specs.get(m)!;
          if (!fitsModality(spec, data.length)) {
            const want = spec.length ? `a multiple of ${sizeOf(spec.shape.slice(1))} (whole steps)` : String(sizes.get(m));
            throw new Error(`${dataset.name}: sample ${s.id} gave ${data.length} values for "${m}", expected ${want}`);
          }
          features[i][m] = data;
          if (cacheable.includes(m)) {
            memory?.set(memKey(s, m), data);
            if (disk) writes.push(disk.put(s, m, data));
          }
        }
      }
      await Promise.all(writes);
    }
    const keep = picked.map((_, i) => i).filter((i) => !failed.has(i));
    if (keep.length === 0) return { batch: null, skips };
    const n = keep.length;
    const inputs: Batch['inputs'] = {};
    for (const m of dataset.modalities) {
      const size = sizes.get(m.name)!;
      // Features a worker packed for exactly this batch become its data. Copied: those the memory
      // cache holds (normalisation works in place) and, in the main thread, whatever `load` returned.
      const packed = workers === 0 || m.length || (memory && cacheable.includes(m.name)) ? null : packedRun(keep.map((i) => features[i][m.name]), size);
      if (packed) fromWorkers.add(packed.buffer as ArrayBuffer);
      const data = packed ?? new Float32Array(n * size);
      if (m.length) {
        const lengths = new Int32Array(n);
        keep.forEach((i, j) => {
          const s = picked[i];
          lengths[j] = fitSteps(m, features[i][m.name], data, j * size, train ? new Rng(seed, epoch, s.id, m.name, 'crop') : null);
        });
        inputs[m.name] = { data, shape: [n, ...m.shape], lengths, masked: m.length.mask };
      } else {
        if (!packed) keep.forEach((i, j) => data.set(features[i][m.name], j * size));
        inputs[m.name] = { data, shape: [n, ...m.shape] };
      }
    }
    const batch: Batch = {
      ids: keep.map((i) => picked[i].id),
      labels: Int32Array.from(keep, (i) => picked[i].label),
      index: Int32Array.from(keep, (i) => picked[i].index),
      inputs,
      corrupted: Uint8Array.from(keep, (i) => (picked[i].corruption ? 1 : 0)),
      size: n,
    };
    if (options.normalize) normalizeBatch(batch, dataset.modalities, options.normalize);
    return { batch, skips };
  }

  const startPass = (epoch: number, indices: Int32Array | null): Pass => {
    const base = indices ?? Int32Array.from(samples, (_, i) => i);
    for (const i of base) if (!(i >= 0 && i < samples.length)) throw new RangeError(`loader.indices holds ${i}, outside the ${split} split (0..${samples.length - 1})`);
    const order = shuffle ? shuffledOrder(base, seed, epoch, split) : base;
    const drop = new AbortController();
    setMaxListeners(0, drop.signal); // one listener per queued batch, as many as the prefetch window: not a leak
    return { epoch, indices, order, length: batchesFor(order.length), next: 0, pending: [], drop };
  };
  const fill = (pass: Pass, room: number): void => {
    while (pass.next < pass.length && pass.pending.length < room) {
      const p = makeBatch(pass.order, pass.next++, pass.epoch, pass.drop.signal);
      p.catch(() => undefined); // awaited in order by the iteration; avoid an unhandled rejection meanwhile
      pass.pending.push(p);
    }
  };
  /**
   * The next epoch's first batches, begun while the current epoch's last ones are consumed (see
   * LoaderOptions.nextEpochAhead): used when the next iteration is that epoch over every sample,
   * withdrawn otherwise.
   */
  let ahead: Pass | null = null;
  const aheadWanted = (options.nextEpochAhead ?? false) && shuffle && workers > 0;

  const loader: Loader = {
    get length() { return batchesFor(loader.indices?.length ?? samples.length); },
    epoch: options.epoch ?? 0,
    indices: null,
    skipped,
    async *[Symbol.asyncIterator]() {
      if (closed) throw new Error('loader is closed');
      const pass = ahead?.epoch === loader.epoch && ahead.indices === loader.indices ? ahead : startPass(loader.epoch, loader.indices);
      if (pass !== ahead) ahead?.drop.abort();
      ahead = null;
      fill(pass, prefetch + 1);
      while (pass.pending.length > 0) {
        const made = await pass.pending.shift()!;
        fill(pass, prefetch + 1);
        if (aheadWanted && pass.next === pass.length && pass.indices === null && !closed) {
          ahead ??= startPass(pass.epoch + 1, null);
          fill(ahead, prefetch + 1 - pass.pending.length);
        }
        skipped.push(...made.skips);
        if (made.batch) yield made.batch;
      }
    },
    recycle(batch) {
      const buffers: ArrayBuffer[] = [];
      for (const { data } of Object.values(batch.inputs)) {
        const buffer = data.buffer as ArrayBuffer;
        if (fromWorkers.delete(buffer)) buffers.push(buffer);
      }
      if (pool && !closed) pool.recycle(buffers);
    },
    async close() {
      closed = true;
      ahead?.drop.abort();
      ahead = null;
      await pool?.close();
      pool = null;
    },
  };
  return loader;
}
