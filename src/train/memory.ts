/**
 * The trainer's side of the caching CPU allocator (src/torch/memory.ts): each epoch's memory
 * figures for metrics.jsonl, and running out of the allocator's limit turned into a message that
 * says what to change. (stage.ts and run.ts empty the cache between stages and after a run.)
 */
import { isOutOfMemoryError, memoryStats, resetPeakStats, MEMORY_LIMIT_ENV } from '../torch/index.js';
import type { Dataset } from '../data/index.js';
import type { RunConfig } from './types.js';

/** One epoch's memory, in bytes: the allocator's figures (peaks within the epoch) and the process's resident size. */
export interface EpochMemory {
  allocated: number;
  reserved: number;
  peakAllocated: number;
  peakReserved: number;
  /** Storage allocations in the epoch and the share served by the cache. */
  allocs: number;
  cacheHitRate: number;
  /** Resident size at the end of the epoch, and the process's peak so far. */
  rss: number;
  maxRss: number;
}

let counted = { allocs: 0, largeAllocs: 0, cacheHits: 0 };

/** The figures since the last call (the first: since the process started), and the peaks restarted for the next epoch. */
export function epochMemory(): EpochMemory {
  const s = memoryStats();
  const large = s.largeAllocs - counted.largeAllocs;
  const m: EpochMemory = {
    allocated: s.allocated, reserved: s.reserved, peakAllocated: s.peakAllocated, peakReserved: s.peakReserved,
    allocs: s.allocs - counted.allocs, cacheHitRate: large > 0 ? (s.cacheHits - counted.cacheHits) / large : 0,
    rss: process.memoryUsage.rss(), maxRss: process.resourceUsage().maxRSS * 1024,
  };
  counted = { allocs: s.allocs, largeAllocs: s.largeAllocs, cacheHits: s.cacheHits };
  resetPeakStats();
  return m;
}

const size = (bytes: number): string => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${(bytes / 2 ** 20).toFixed(0)} MB`);

/**
 * `e` itself, or for running out of memory an error that names the batch, its frames or steps per
 * modality, and the settings that shrink it (the original error is its cause).
 */
export function explainOutOfMemory(e: unknown, cfg: RunConfig, dataset: Dataset): unknown {
  if (!isOutOfMemoryError(e)) return e;
  const varying = dataset.modalities.filter((m) => m.length !== undefined);
  const per = dataset.modalities.map((m) => `${m.name} [${m.shape.join(', ')}]${m.lengths ? ` (${m.lengths.min}-${m.lengths.max} ${m.shape.length >= 3 ? 'frames' : 'steps'} per sample, median ${m.lengths.median})` : ''}`);
  const lengthFix = varying.map((m) => `--data-opt ${m.name}.length=${Math.max(1, Math.round((m.lengths?.median ?? m.shape[0] ?? 2) / 2))}`);
  const limit = memoryStats().limit;
  const err = new Error(
    `out of memory training with batch size ${cfg.batchSize}: each batch holds ${cfg.batchSize} x ${per.join(' and ')}. ${e.message}. ` +
    `Fix: a smaller batch (--batch-size ${Math.max(1, Math.floor(cfg.batchSize / 2))})` +
    `${lengthFix.length ? `, fewer frames or steps per sample (${lengthFix.join(', ')})` : ''}` +
    `, or a higher limit if the machine has the memory (${MEMORY_LIMIT_ENV}=${Math.ceil((1.5 * limit) / 2 ** 30)}G; now ${size(limit)}).`,
    { cause: e },
  );
  return Object.assign(err, { code: e.code });
}
