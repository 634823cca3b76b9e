import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors.js';
import { loadSamples, LOADS_IN_FLIGHT } from '../../src/data/load-samples.js';
import type { Dataset, LoadOptions, Sample } from '../../src/data/types.js';

/** A dataset whose loads take a few ms each (a file read), slowest first, counting how many overlap. */
function slowDataset(bad: Map<number, Error>): { dataset: Dataset; maxInFlight: () => number; seen: LoadOptions[] } {
  let inFlight = 0, max = 0;
  const seen: LoadOptions[] = [];
  const dataset = {
    async load(s: Sample, opts: LoadOptions) {
      seen.push(opts);
      max = Math.max(max, ++inFlight);
      await sleep(20 - s.index);
      inFlight--;
      const e = bad.get(s.index);
      if (e) throw e;
      return { x: Float32Array.of(s.index) };
    },
  } as unknown as Dataset;
  return { dataset, maxInFlight: () => max, seen };
}

describe('loadSamples', () => {
  it('overlaps up to LOADS_IN_FLIGHT loads, returns results in sample order, and turns failures into results naming the file', async () => {
    const samples = Array.from({ length: 10 }, (_, i) => ({ index: i, id: `s${i}`, label: 0 }) as Sample);
    const { dataset, maxInFlight, seen } = slowDataset(new Map<number, Error>([[3, new DataError('/data/s3.jpg', 'unreadable', 7)], [5, new Error('boom')]]));
    const results = await loadSamples(dataset, samples, (i) => ({ train: true, seed: 1, epoch: i, modalities: ['x'] }));
    expect(maxInFlight()).toBe(LOADS_IN_FLIGHT);
    expect(LOADS_IN_FLIGHT).toBeGreaterThan(1);
    expect(results.map((r) => r.index)).toEqual(samples.map((s) => s.index));
    expect(results.map((r) => r.features?.x?.[0])).toEqual([0, 1, 2, undefined, 4, undefined, 6, 7, 8, 9]);
    expect(results[3]?.error).toMatchObject({ dataError: true, file: '/data/s3.jpg', line: 7 });
    expect(results[3]?.error?.message).toMatch(/s3\.jpg/);
    expect(results[5]?.error).toMatchObject({ message: 'boom', dataError: false });
    // each sample got its own options
    expect(seen.map((o) => o.epoch).sort((a, b) => a - b)).toEqual(samples.map((s) => s.index));
  });

  it('an empty batch loads nothing', async () => {
    const { dataset, maxInFlight } = slowDataset(new Map());
    expect(await loadSamples(dataset, [], () => ({ train: false, seed: 0, epoch: 0 }))).toEqual([]);
    expect(maxInFlight()).toBe(0);
  });
});
