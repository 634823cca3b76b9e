import { describe, expect, it } from 'vitest';
import { peakMemory } from '../../src/report/write-report.js';
import type { EpochMemory } from '../../src/train/memory.js';
import type { EpochMetrics } from '../../src/train/types.js';

const epoch = (memory?: Partial<EpochMemory>): EpochMetrics => ({
  epoch: 1, stage: 'main', lr: 1e-3, train: { loss: 1, acc: 0.5, logs: {} }, val: { acc: 0.5, f1: 0.5, modality: {} } as unknown as EpochMetrics['val'],
  gap: null, gmm: null, method: {}, seconds: 10,
  ...(memory && { memory: { allocated: 0, reserved: 0, peakAllocated: 0, peakReserved: 0, allocs: 0, cacheHitRate: 1, rss: 0, maxRss: 0, ...memory } }),
});

describe('peak memory in the report', () => {
  it('is the largest of each epoch\'s peaks, each figure on its own; none for runs that did not record memory', () => {
    const p = peakMemory([epoch(), epoch({ peakAllocated: 5, peakReserved: 9, maxRss: 20 }), epoch({ peakAllocated: 7, peakReserved: 8, maxRss: 30 })]);
    expect(p).toEqual({ allocated: 7, reserved: 9, rss: 30 });
    expect(peakMemory([epoch()])).toBeNull();
  });
});
