/** Computing the features of a batch's samples, in a worker thread or the main thread. */
import { DataError } from './errors.js';
import type { WorkerResult } from './pool.js';
import type { Dataset, LoadOptions, Sample } from './types.js';

/**
 * Samples whose loads overlap. A load awaits its files (each read a round trip through libuv's
 * thread pool) between synchronous decodes; one at a time, a worker sat idle for a fifth of an
 * epoch on the frame benchmark. With a few in flight, one sample's reads proceed while another
 * decodes.
 */
export const LOADS_IN_FLIGHT = 4;

/**
 * Loads `samples` (in order; `optsFor(i)` gives sample i's options) with up to LOADS_IN_FLIGHT
 * at once. A failure is returned as that sample's result, never thrown; results are in order.
 */
export async function loadSamples(dataset: Dataset, samples: Sample[], optsFor: (i: number) => LoadOptions): Promise<WorkerResult[]> {
  const results = new Array<WorkerResult>(samples.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < samples.length; i = next++) {
      const s = samples[i] as Sample;
      try {
        results[i] = { index: s.index, features: await dataset.load(s, optsFor(i)) };
      } catch (e) {
        const d = e instanceof DataError ? e : null;
        results[i] = { index: s.index, error: { message: (e as Error).message, dataError: d !== null, file: d?.file, line: d?.line } };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOADS_IN_FLIGHT, samples.length) }, lane));
  return results;
}
