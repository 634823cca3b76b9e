/** A pool of worker threads that re-open a dataset from its source and compute sample features. */
import { Worker } from 'node:worker_threads';
import { DataError } from './errors.js';
import type { DatasetSource, Split } from './types.js';

/** One sample's result from a worker. */
export interface WorkerResult {
  index: number;
  features?: Record<string, Float32Array>;
  /** `fatal`: the dataset could not be opened in the worker (never skipped). */
  error?: { message: string; file?: string; line?: number; dataError: boolean; fatal?: boolean };
}

/** A request: features of some samples of one split. */
export interface WorkerTask {
  split: Split;
  indices: number[];
  train: boolean;
  seed: number;
  epoch: number;
  /** Per sample, the modalities still needed. */
  modalities: string[][];
}

interface Job {
  id: number;
  task: WorkerTask;
  resolve: (r: WorkerResult[]) => void;
  reject: (e: Error) => void;
  /** Stops listening to the task's AbortSignal once it leaves the queue (a pass's batches share one). */
  unlisten?: () => void;
}

/** Rebuilds a worker's error, keeping DataError's file and line. */
export function reviveError(e: NonNullable<WorkerResult['error']>): Error {
  if (!e.dataError || !e.file) return new Error(e.message);
  const err = new DataError(e.file, '', e.line);
  err.message = e.message;
  return err;
}

/** Options of WorkerPool. */
export interface PoolOptions {
  size: number;
  /** Node flags for the workers (default none: V8 flags are per process anyway; tests pass a TypeScript loader hook). */
  execArgv?: string[];
}

/**
 * Fixed-size pool. Tasks wait in one queue, in order, and a worker takes the next one when it is
 * free, so a worker finishes a batch before it starts another (the first batch of an epoch waits
 * for its own samples only). Assigned ahead to the least busy worker instead, a batch could queue
 * behind another one on a worker while the other worker sat idle and the loader waited for that
 * batch (on the frame benchmark a second worker then added 5-10 %). Workers do not keep the
 * process alive.
 */
export class WorkerPool {
  private readonly workers: { worker: Worker; job: Job | null }[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private nextRecycle = 0;
  private failure: Error | null = null;

  constructor(source: DatasetSource, opts: PoolOptions) {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const url = new URL(`./load-worker${ext}`, import.meta.url);
    for (let i = 0; i < opts.size; i++) {
      const worker = new Worker(url, { workerData: { source }, execArgv: opts.execArgv ?? [] });
      worker.unref();
      const slot: (typeof this.workers)[number] = { worker, job: null };
      worker.on('message', (msg: { id: number; results: WorkerResult[] }) => {
        const job = slot.job;
        if (job?.id !== msg.id) return this.fail(new Error(`answer to task ${msg.id} while task ${job?.id ?? 'none'} was running`));
        slot.job = null;
        job.resolve(msg.results);
        this.dispatch();
      });
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => code !== 0 && this.fail(new Error(`data worker exited with code ${code}`)));
      this.workers.push(slot);
    }
  }

  private fail(e: Error): void {
    this.failure ??= new Error(`data worker failed: ${e.message}`);
    for (const slot of this.workers) {
      slot.job?.reject(this.failure);
      slot.job = null;
    }
    for (const job of this.queue.splice(0)) {
      job.unlisten?.();
      job.reject(this.failure);
    }
  }

  /** Hands queued tasks, in order, to the free workers. */
  private dispatch(): void {
    for (const slot of this.workers) {
      const job = slot.job === null ? this.queue.shift() : undefined;
      if (!job) continue;
      job.unlisten?.();
      slot.job = job;
      slot.worker.postMessage({ id: job.id, task: job.task });
    }
  }

  /** Queues a task; it runs on the first worker to be free. `signal` withdraws it while it is still queued (the promise then rejects). */
  run(task: WorkerTask, signal?: AbortSignal): Promise<WorkerResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (signal?.aborted) return Promise.reject(new Error('data task withdrawn'));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, task, resolve, reject };
      if (signal) {
        const withdraw = (): void => {
          const at = this.queue.indexOf(job); // (always queued: the listener goes when the job leaves the queue)
          if (at < 0) return;
          this.queue.splice(at, 1);
          reject(new Error('data task withdrawn'));
        };
        signal.addEventListener('abort', withdraw, { once: true });
        job.unlisten = () => signal.removeEventListener('abort', withdraw);
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Hands batch buffers back to a worker (in turn), which writes later batches into them; they are detached here. */
  recycle(buffers: ArrayBuffer[]): void {
    if (this.failure || buffers.length === 0) return;
    const slot = this.workers[this.nextRecycle++ % this.workers.length];
    slot?.worker.postMessage({ recycle: buffers }, buffers);
  }

  /** Terminates the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
