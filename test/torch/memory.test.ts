// The caching CPU allocator (native/src/cpu_allocator.cc, src/torch/memory.ts): its statistics
// against the bytes the test allocates, reuse and coalescing of freed blocks, a reserved size that
// does not grow under ever-changing request sizes, emptyCache, and the limit's error.
import { describe, expect, it } from 'vitest';
import { cpuAllocator, emptyCache, isOutOfMemoryError, memoryStats, ops, parseMemoryLimit, resetPeakStats, setMemoryLimit, tidy, zeros } from '../../src/torch/index.js';

const MiB = 2 ** 20;

describe.runIf(cpuAllocator === 'caching')('caching CPU allocator', () => {
  it('counts the bytes of live tensors; a freed block serves the next request of its size from the cache', () => {
    const s0 = memoryStats();
    const a = zeros([4 * MiB / 4]); // 4 MiB float32
    const s1 = memoryStats();
    expect(s1.allocated - s0.allocated).toBe(4 * MiB);
    expect(s1.reserved).toBeGreaterThanOrEqual(s1.allocated);
    expect(s1.peakAllocated).toBeGreaterThanOrEqual(s1.allocated);
    a.dispose();
    expect(memoryStats().allocated).toBe(s0.allocated);
    const b = zeros([4 * MiB / 4]);
    const s2 = memoryStats();
    expect(s2.cacheHits - s1.cacheHits).toBe(1);
    expect(s2.grown).toBe(s1.grown); // no new memory from the system
    b.dispose();
  });

  it('blocks split from one free block coalesce when freed: the whole block serves one large request again', () => {
    emptyCache();
    zeros([64 * MiB / 4]).dispose(); // 64 MiB of free memory
    const grown = memoryStats().grown;
    const parts = Array.from({ length: 8 }, () => zeros([8 * MiB / 4])); // carved from it
    expect(memoryStats().grown).toBe(grown);
    for (const p of parts.filter((_, k) => k % 2 === 0)) p.dispose();
    for (const p of parts.filter((_, k) => k % 2 === 1)) p.dispose();
    // 64 MiB in one piece fits only if the freed neighbours merged back
    const whole = zeros([64 * MiB / 4]);
    expect(memoryStats().grown).toBe(grown);
    whole.dispose();
  });

  it('requests of ever-changing sizes (as batches of clips of varying length) stop taking memory: reserved after 300 rounds within 5 % of reserved after 30, and under the largest round', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const round = (): void => tidy(() => {
      // an activation-like stack: 6 tensors of 20-40 MiB, alive together, then all freed
      for (let k = 0; k < 6; k++) ops.empty([Math.floor((20 + 20 * rand()) * MiB / 4)]);
    });
    for (let i = 0; i < 30; i++) round();
    const early = memoryStats().reserved;
    for (let i = 0; i < 270; i++) round();
    const late = memoryStats();
    // Only a round larger than all before it may take more, by what it exceeds them: the most
    // reserved is the largest round's demand (6 x 40 MiB at most) plus the small blocks'.
    expect(late.reserved).toBeLessThan(early * 1.05);
    expect(late.reserved).toBeLessThan(6 * 40 * MiB + 16 * MiB);
  });

  it('emptyCache hands back every segment no tensor uses; resetPeakStats restarts the peaks', () => {
    const keep = zeros([2 * MiB / 4]);
    const t = zeros([64 * MiB / 4]);
    t.dispose();
    const before = memoryStats();
    const freed = emptyCache();
    const after = memoryStats();
    expect(freed).toBeGreaterThanOrEqual(64 * MiB);
    expect(before.reserved - after.reserved).toBe(freed);
    expect(after.allocated).toBe(before.allocated); // the live tensor keeps its memory
    expect(after.peakAllocated).toBeGreaterThanOrEqual(before.allocated + 64 * MiB);
    resetPeakStats();
    expect(memoryStats().peakAllocated).toBe(after.allocated);
    expect(keep.sum().item()).toBe(0);
    keep.dispose();
  });

  it('a request that would pass the limit throws an out-of-memory error naming the limit and its setting', () => {
    const saved = memoryStats().limit;
    try {
      setMemoryLimit(memoryStats().reserved + 32 * MiB);
      let err: unknown = null;
      try {
        zeros([256 * MiB / 4]);
      } catch (e) {
        err = e;
      }
      expect(isOutOfMemoryError(err)).toBe(true);
      expect((err as Error).message).toMatch(/CPU memory limit reached: a tensor of 256 MB .* would pass the limit of \d+ MB \(MMGAP_CPU_MEMORY_LIMIT/);
      // a request within the limit still works, and a plain bad call is no memory error
      zeros([MiB / 4]).dispose();
      let other: unknown = null;
      try {
        zeros([2, 2]).matmul(zeros([3, 3]));
      } catch (e) {
        other = e;
      }
      expect(other).toBeInstanceOf(Error);
      expect(isOutOfMemoryError(other)).toBe(false);
    } finally {
      setMemoryLimit(saved);
    }
  });
});

describe('MMGAP_CPU_MEMORY_LIMIT', () => {
  it('takes binary sizes and percentages of physical memory; anything else is an error naming the forms', () => {
    expect(parseMemoryLimit('12G', 0)).toBe(12 * 2 ** 30);
    expect(parseMemoryLimit('800MiB', 0)).toBe(800 * MiB);
    expect(parseMemoryLimit('1.5g', 0)).toBe(1.5 * 2 ** 30);
    expect(parseMemoryLimit('1073741824', 0)).toBe(2 ** 30);
    expect(parseMemoryLimit('50%', 16 * 2 ** 30)).toBe(8 * 2 ** 30);
    expect(() => parseMemoryLimit('lots', 0)).toThrow(/MMGAP_CPU_MEMORY_LIMIT="lots" is not a memory size .*=12G, =800M or =60% \(of physical memory\)/);
    expect(() => parseMemoryLimit('12', 0)).toThrow(/at least 1 MiB/);
  });
});
