/** Worker-thread entry: re-opens the dataset from its source and answers feature requests. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadSamples } from './load-samples.js';
import { openDataset } from './open.js';
import type { WorkerResult, WorkerTask } from './pool.js';
import type { DatasetSource, ModalitySpec, Sample } from './types.js';

/**
 * The batch buffers of a task: per fixed-size modality (no length policy), one buffer holding the
 * task's samples that need it back to back, in task order, and each sample's slot in it (passed
 * to `load` as `into`, so that datasets that honour it write their features there directly).
 * One buffer per modality crosses to the main thread (transferred, not copied), where a batch of
 * samples that all came in one task uses it as the batch's data without another copy.
 */
function batchBuffers(modalities: ModalitySpec[], task: WorkerTask): { buffers: Map<string, Float32Array>; slots: Record<string, Float32Array>[] } {
  const buffers = new Map<string, Float32Array>();
  const slots: Record<string, Float32Array>[] = task.indices.map(() => ({}));
  for (const m of modalities) {
    if (m.length) continue; // T varies per sample: packed after loading
    const size = m.shape.reduce((a, b) => a * b, 1);
    const needing = task.modalities.flatMap((need, i) => (need.includes(m.name) ? [i] : []));
    if (needing.length === 0) continue;
    const buffer = spareBuffer(needing.length * size);
    needing.forEach((i, k) => (slots[i][m.name] = buffer.subarray(k * size, (k + 1) * size)));
    buffers.set(m.name, buffer);
  }
  return { buffers, slots };
}

/**
 * Batch buffers the main thread handed back once their batch was copied into tensors (Loader.recycle),
 * by byte length: the next batch of the same size is written into one instead of a new allocation,
 * so a run's batches do not churn (and fragment) the heap with 10-100 MB blocks freed whenever the
 * main thread's garbage collector gets to them. Every slot of a reused buffer is overwritten
 * before it leaves (a failed sample's slot is never part of a batch).
 */
const spare = new Map<number, ArrayBuffer[]>();
const SPARE_PER_SIZE = 4;

function spareBuffer(length: number): Float32Array {
  const reused = spare.get(length * 4)?.pop();
  return reused ? new Float32Array(reused) : new Float32Array(length);
}

/**
 * Puts every sample's features into the task's batch buffers: those a dataset wrote into its slot
 * are there already; others (datasets that ignore `into`) are copied into their slot, and
 * variable-length modalities are laid back to back in a buffer of their own. Returns the buffers
 * to transfer.
 */
function packFeatures(results: WorkerResult[], buffers: Map<string, Float32Array>, slots: Record<string, Float32Array>[]): ArrayBuffer[] {
  const transfer = [...buffers.values()].map((b) => b.buffer as ArrayBuffer);
  results.forEach((r, i) => {
    for (const [m, f] of Object.entries(r.features ?? {})) {
      const slot = slots[i][m];
      if (!slot || f === slot || f.length !== slot.length) continue; // a wrong length stays as it is, for the loader's error
      slot.set(f);
      r.features![m] = slot;
    }
  });
  const variable = new Set(results.flatMap((r) => Object.keys(r.features ?? {}).filter((m) => !buffers.has(m))));
  for (const m of variable) {
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

parentPort!.on('message', (message: { id: number; task: WorkerTask } | { recycle: ArrayBuffer[] }) => {
  if ('recycle' in message) {
    for (const b of message.recycle) {
      const list = spare.get(b.byteLength) ?? [];
      if (list.length < SPARE_PER_SIZE) list.push(b);
      spare.set(b.byteLength, list);
    }
    return;
  }
  // The pool sends a worker one task at a time, the next once this one is answered (pool.ts). A
  // failure outside the per-sample handling still ends the worker, as an uncaught error does.
  runTask(message).catch((e: unknown) => { process.nextTick(() => { throw e; }); });
});

async function runTask({ id, task }: { id: number; task: WorkerTask }): Promise<void> {
  let results: WorkerResult[];
  let buffers = new Map<string, Float32Array>();
  let slots: Record<string, Float32Array>[] = [];
  try {
    const dataset = await ready;
    const samples = dataset.samples(task.split);
    ({ buffers, slots } = batchBuffers(dataset.modalities, task));
    results = await loadSamples(dataset, task.indices.map((i) => samples[i] as Sample), (i) => ({
      train: task.train, seed: task.seed, epoch: task.epoch, modalities: task.modalities[i], into: slots[i],
    }));
  } catch (e) {
    // the dataset itself failed to open: every sample reports it
    results = task.indices.map((index) => ({ index, error: { message: (e as Error).message, dataError: false, fatal: true } }));
  }
  const transfer = packFeatures(results, buffers, slots);
  parentPort!.postMessage({ id, results }, transfer);
}
