/** Worker-thread entry: re-opens the dataset from its source and answers feature requests. */
import { parentPort, workerData } from 'node:worker_threads';
import { DataError } from './errors.js';
import { openDataset } from './open.js';
import type { WorkerResult, WorkerTask } from './pool.js';
import type { DatasetSource } from './types.js';

const { source } = workerData as { source: DatasetSource };
const ready = openDataset(source.spec, source.options);

parentPort!.on('message', async ({ id, task }: { id: number; task: WorkerTask }) => {
  const results: WorkerResult[] = [];
  const transfer: ArrayBuffer[] = [];
  try {
    const dataset = await ready;
    const samples = dataset.samples(task.split);
    for (let i = 0; i < task.indices.length; i++) {
      const index = task.indices[i];
      try {
        const features = await dataset.load(samples[index], { train: task.train, seed: task.seed, epoch: task.epoch, modalities: task.modalities[i] });
        for (const f of Object.values(features)) {
          // move whole buffers only; a view into a shared buffer is copied by postMessage
          if (f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && !transfer.includes(f.buffer as ArrayBuffer)) transfer.push(f.buffer as ArrayBuffer);
        }
        results.push({ index, features });
      } catch (e) {
        const err = e as Error;
        results.push({ index, error: { message: err.message, dataError: e instanceof DataError, file: (e as DataError).file, line: (e as DataError).line } });
      }
    }
  } catch (e) {
    // the dataset itself failed to open: every sample reports it
    for (const index of task.indices) results.push({ index, error: { message: (e as Error).message, dataError: false, fatal: true } });
  }
  parentPort!.postMessage({ id, results }, transfer);
});
