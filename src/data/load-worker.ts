/** Worker-thread entry: re-opens the dataset from its source and answers feature requests. */
import { parentPort, workerData } from 'node:worker_threads';
import { DataError } from './errors.js';
import { openDataset } from './open.js';
import type { WorkerResult, WorkerTask } from './pool.js';
import type { DatasetSource } from './types.js';

/**
 * Lays each modality's features of the task's samples back to back in one buffer (in task order)
 * and points every sample's features at its part of it: the copy happens here, in the worker, and
 * one buffer per modality crosses to the main thread (transferred, not copied), where a batch of
 * samples that all came in one task uses it as the batch's data without another copy.
 */
function packFeatures(results: WorkerResult[]): ArrayBuffer[] {
  const names = new Set(results.flatMap((r) => Object.keys(r.features ?? {})));
  const transfer: ArrayBuffer[] = [];
  for (const m of names) {
    const parts = results.filter((r) => r.features?.[m]);
    const packed = new Float32Array(parts.reduce((n, r) => n + r.features![m].length, 0));
    let at = 0;
    for (const r of parts) {
      const f = r.features![m];
      packed.set(f, at);
      r.features![m] = packed.subarray(at, at + f.length);
      at += f.length;
    }
    transfer.push(packed.buffer);
  }
  return transfer;
}

const { source } = workerData as { source: DatasetSource };
const ready = openDataset(source.spec, source.options);

parentPort!.on('message', async ({ id, task }: { id: number; task: WorkerTask }) => {
  const results: WorkerResult[] = [];
  try {
    const dataset = await ready;
    const samples = dataset.samples(task.split);
    for (let i = 0; i < task.indices.length; i++) {
      const index = task.indices[i];
      try {
        results.push({ index, features: await dataset.load(samples[index], { train: task.train, seed: task.seed, epoch: task.epoch, modalities: task.modalities[i] }) });
      } catch (e) {
        const err = e as Error;
        results.push({ index, error: { message: err.message, dataError: e instanceof DataError, file: (e as DataError).file, line: (e as DataError).line } });
      }
    }
  } catch (e) {
    // the dataset itself failed to open: every sample reports it
    for (const index of task.indices) results.push({ index, error: { message: (e as Error).message, dataError: false, fatal: true } });
  }
  const transfer = packFeatures(results);
  parentPort!.postMessage({ id, results }, transfer);
});
