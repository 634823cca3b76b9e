/**
 * What the training loop gathers as an epoch runs (src/train/session.ts): the training loss,
 * accuracy and method logs; the wait for the loader; and, for gapSource 'train-pass', the
 * softmax outputs of the training forward passes.
 */
import type { Batch } from '../data/index.js';
import type { SplitPredictions } from '../methods/method.js';
import type { TrainingJob } from './distributed.js';
import type { EpochMetrics } from './types.js';

/** What one training step adds to the epoch's numbers. */
export interface StepTally {
  /** The step's loss. */
  value: number;
  /** Whether the loss counts (false for a non-finite loss whose step the fp16 loss scaler skips). */
  counts: boolean;
  /** Correct fused predictions in the batch. */
  ok: number;
  /** The method's scalars of the step (loss terms, beforeStep's). */
  logs: Record<string, number>;
}

/** The epoch's training loss (over the steps whose loss counts), accuracy and method logs. */
export class EpochTally {
  /** Steps this process took. */
  steps = 0;
  #lossSum = 0;
  #lossSeen = 0;
  #correct = 0;
  #seen = 0;
  #loggedSteps = 0;
  readonly #logSums: Record<string, number> = {};

  add(size: number, s: StepTally): void {
    this.#correct += s.ok;
    this.#seen += size;
    this.steps++;
    // A step the loss scaler skips for a non-finite loss adds nothing to the loss or the logs.
    if (s.counts) {
      this.#lossSum += s.value * size;
      this.#lossSeen += size;
      this.#loggedSteps++;
      for (const [k, v] of Object.entries(s.logs)) this.#logSums[k] = (this.#logSums[k] ?? 0) + v;
    }
  }

  /** Replaces the sums with those over all ranks of a data-parallel job (every rank calls it). */
  sumOverRanks(job: TrainingJob): void {
    const keys = Object.keys(this.#logSums).sort();
    const [l, ls, c, n, k, ...logs] = job.sum([this.#lossSum, this.#lossSeen, this.#correct, this.#seen, this.#loggedSteps, ...keys.map((key) => this.#logSums[key] as number)]);
    [this.#lossSum, this.#lossSeen, this.#correct, this.#seen, this.#loggedSteps] = [l as number, ls as number, c as number, n as number, k as number];
    keys.forEach((key, i) => { this.#logSums[key] = logs[i] as number; });
  }

  metrics(): EpochMetrics['train'] {
    const seen = this.#seen;
    return {
      // (an epoch whose every loss was non-finite, each step skipped by the loss scaler, has no loss: NaN)
      loss: this.#lossSeen > 0 ? this.#lossSum / this.#lossSeen : seen > 0 ? Number.NaN : 0,
      acc: this.#correct / Math.max(seen, 1),
      logs: Object.fromEntries(Object.entries(this.#logSums).map(([k, v]) => [k, v / Math.max(this.#loggedSteps, 1)])),
    };
  }
}

/**
 * The loop's wait for the loader's next batch: where it is a large share of the loop, the
 * loader, not the model, sets the pace.
 */
export class LoaderWait {
  readonly #start = performance.now();
  #asked = this.#start;
  #seconds = 0;

  /** A batch arrived. */
  arrived(): void { this.#seconds += (performance.now() - this.#asked) / 1000; }

  /** The loop asks for the next batch. */
  asking(): void { this.#asked = performance.now(); }

  /** The epoch's record of it, after `steps` steps. */
  record(steps: number): NonNullable<EpochMetrics['data']> {
    return { waitSeconds: this.#seconds, steps, loopSeconds: (performance.now() - this.#start) / 1000 };
  }
}

/**
 * The softmax outputs of an epoch's training forward passes, gathered for gapSource 'train-pass':
 * they stand in for the eval pass over the training set when the epoch visited every sample once.
 */
export class TrainPassRows {
  readonly #parts: { b: Batch; fused: Float32Array; unimodal: Record<string, Float32Array> }[] = [];

  add(b: Batch, fused: Float32Array, unimodal: Record<string, Float32Array>): void { this.#parts.push({ b, fused, unimodal }); }

  /** The rows ordered by sample index (as an eval pass gives them), or null unless each of the `trainSize` samples came once. */
  predictions(trainSize: number, modalities: string[], numClasses: number): SplitPredictions | null {
    const rows = this.#parts.flatMap((p) => Array.from(p.b.index, (sample, i) => ({ p, i, sample })));
    if (rows.length !== trainSize || new Set(rows.map((r) => r.sample)).size !== trainSize) return null;
    rows.sort((x, y) => x.sample - y.sample);
    const probs = (get: (r: (typeof rows)[number]) => Float32Array): Float32Array => {
      const out = new Float32Array(trainSize * numClasses);
      rows.forEach((r, k) => out.set(get(r).subarray(r.i * numClasses, (r.i + 1) * numClasses), k * numClasses));
      return out;
    };
    return {
      ids: rows.map((r) => r.p.b.ids[r.i] as string), labels: Int32Array.from(rows, (r) => r.p.b.labels[r.i] as number),
      index: Int32Array.from(rows, (r) => r.sample), corrupted: Uint8Array.from(rows, (r) => r.p.b.corrupted[r.i] as number),
      fused: probs((r) => r.p.fused), unimodal: Object.fromEntries(modalities.map((m) => [m, probs((r) => r.p.unimodal[m] as Float32Array)])), numClasses,
    };
  }
}
