// Memory of training on ragged data (src/train/memory.ts, the caching CPU allocator): every batch
// holds other frame counts, which made a heap that never gives memory back grow epoch after epoch
// (issue #28). And running out of the allocator's limit stops training with a message that names
// the batch and what to change.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeRaggedFolder } from '../../bench/ragged-folder.js';
import { cpuAllocator, isOutOfMemoryError, memoryStats, setMemoryLimit } from '../../src/torch/index.js';
import { trainRun } from '../../src/train/run.js';
import type { EpochMetrics, RunConfig } from '../../src/train/types.js';
import { tempDir } from '../helpers/python.js';

// 104 clips (60 train) of the corpus's lengths (audio 23-79 steps, frames 12-40), frames 21 x 28
const root = writeRaggedFolder(tempDir('mmgap-ragged-memory-'), { clips: 104, scale: 0.35, seed: 1 });
const base: Partial<RunConfig> = { data: `folder:${root}`, method: 'joint', batchSize: 16, lr: 0.003, seed: 1 };

describe.runIf(cpuAllocator === 'caching')('memory of training on variable-length batches', () => {
  it('does not grow across epochs: tensor memory held flat within 1 %, resident size within 10 % from epoch 2 to 6', async () => {
    const out = tempDir();
    await trainRun({ ...base, epochs: 6 }, { outDir: out });
    const ms = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as EpochMetrics).memory!);
    expect(ms).toHaveLength(6);
    const [second, last] = [ms[1]!, ms[5]!];
    // The allocator's figures: a leaked tensor per step, or a cache that keeps mapping memory for
    // new batch shapes, shows here. Measured: 153.0 MB held after every epoch.
    expect(last.reserved).toBeLessThanOrEqual(1.01 * second.reserved);
    expect(last.peakReserved).toBeLessThanOrEqual(1.01 * second.peakReserved);
    expect(second.cacheHitRate).toBeGreaterThan(0.95);
    // The whole process (libtorch's ~250 MB of code and small objects included). Measured: +1.9 % and
    // +4.8 % (405 -> 413, 401 -> 421 MB). Under the keep-freed policy this allocator replaced
    // (MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=-1 MALLOC_ARENA_MAX=1 MMGAP_MALLOC=system) this
    // assertion failed: +20 % (623 -> 747 MB; +25 % in another run).
    expect(last.rss).toBeLessThanOrEqual(1.1 * second.rss);
  }, 600_000);

  it('past the memory limit, training stops with a message naming the batch size, the frames and the settings to change', async () => {
    const saved = memoryStats().limit;
    let err: unknown = null;
    try {
      // room for the model, not for a batch's activations (measured peak: 144 MB in tensors)
      setMemoryLimit(memoryStats().reserved + 24 * 2 ** 20);
      await trainRun({ ...base, epochs: 1 }, { outDir: tempDir() });
    } catch (e) {
      err = e;
    } finally {
      setMemoryLimit(saved);
    }
    expect(isOutOfMemoryError(err)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^out of memory training with batch size 16: each batch holds 16 x audio \[79, 26\] \(23-79 steps per sample, median [\d.]+\) and visual \[40, 1, 21, 28\] \(12-40 frames per sample, median [\d.]+\)/);
    expect(msg).toMatch(/CPU memory limit reached: a tensor of \d+ MB/);
    expect(msg).toMatch(/Fix: a smaller batch \(--batch-size 8\), fewer frames or steps per sample \(--data-opt audio\.length=\d+, --data-opt visual\.length=\d+\), or a higher limit if the machine has the memory \(MMGAP_CPU_MEMORY_LIMIT=\d+G; now/);
  }, 600_000);
});
