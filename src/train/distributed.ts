/**
 * What the trainer does differently when it is one rank of a data-parallel job (the engine side
 * is src/torch/distributed.ts). Every rank holds the same model (DDP) and sees the same data
 * order; each trains on its slice of every global batch, predicts its share of each evaluation
 * split, and the predictions are all-gathered, so that every rank holds the whole split's
 * predictions: the per-sample state methods derive from them (gmm-adaptive's gaps and GMM, a
 * valuation, a resampling) comes out the same on every rank without the methods knowing of ranks.
 * Rank 0 alone writes the run directory.
 */
import { createHash } from 'node:crypto';
import { cat, noGrad, tensor, type Tensor } from '../torch/index.js';
import { DistributedDataParallel, DistributedError, type ProcessGroup } from '../torch/distributed.js';
import type { Loader, Sample } from '../data/index.js';
import type { Method, MethodState, SplitPredictions } from '../methods/method.js';
import type { Module } from '../torch/nn/module.js';
import { convertSyncBatchNorm } from '../torch/nn/layers.js';
import { ConfigError, type RunConfig } from './config.js';
import { RunDir } from './rundir.js';

/** Run settings that may differ between ranks: they set speed, not the experiment. */
const PER_RANK_SETTINGS = new Set<string>(['threads', 'workers']);

/** A short digest of a string or numbers, comparable across ranks. */
function digest(data: string | Float64Array): Tensor {
  const h = createHash('sha256').update(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).digest();
  return tensor(new BigInt64Array(h.buffer, h.byteOffset, 4).slice());
}

/** One rank's part in a training job: its process group, the DDP wrapper of the model, and the collectives the trainer needs. */
export class TrainingJob {
  ddp: DistributedDataParallel | null = null;

  constructor(readonly group: ProcessGroup) {}

  get rank(): number { return this.group.rank; }
  get worldSize(): number { return this.group.worldSize; }

  /**
   * Checks, before any work, what must hold on every rank: a batch that splits evenly and the same
   * config (compared by hash). Methods that edit gradients per batch need no check here: they
   * reduce their batch statistics and gradients through the StepContext (src/methods/method.ts),
   * and a method with its own backward that does not is stopped at its first step (Session).
   */
  checkRun(cfg: RunConfig): void {
    if (cfg.batchSize % this.worldSize !== 0) {
      throw new ConfigError(`batch size ${cfg.batchSize} does not split over ${this.worldSize} ranks; use a multiple of ${this.worldSize} (each rank trains on batchSize / ranks samples per step)`, 'batchSize');
    }
    const shared = Object.fromEntries(Object.entries(cfg).filter(([k]) => !PER_RANK_SETTINGS.has(k)));
    this.sameOnAllRanks('the run config', JSON.stringify(shared), 'start every rank with the same flags and config file');
  }

  /** Throws on every rank unless `data` is the same on all of them. */
  sameOnAllRanks(what: string, data: string | Float64Array, fix: string): void {
    const mine = digest(data);
    const all = this.group.allGather(mine).map((t) => t.toArray().join(','));
    const odd = all.findIndex((h) => h !== all[0]);
    if (odd >= 0) throw new DistributedError(`${what} differs between rank 0 and rank ${odd}; ${fix}`);
  }

  /**
   * Wraps the model: rank 0's weights everywhere, gradients averaged in backward; with
   * `syncBatchNorm`, every BatchNorm takes its training statistics over all ranks' samples.
   */
  wrap(model: Module, o: { syncBatchNorm?: boolean } = {}): void {
    if (o.syncBatchNorm) convertSyncBatchNorm(model, this.group);
    // Frozen encoders (purification of the head) leave parameters without gradients: the reducer must look for them.
    this.ddp = new DistributedDataParallel(model, this.group, { findUnusedParameters: true });
  }

  /**
   * This rank's slice of an epoch's order, as PyTorch's DistributedSampler with the order cut into
   * global batches of `globalBatch`: rank r takes the r-th of the equal parts of each. A last
   * batch that does not split evenly is filled from the start of the order (as DistributedSampler
   * pads), so every rank takes the same number of steps.
   */
  shardOrder(order: Int32Array, globalBatch: number): Int32Array {
    const w = this.worldSize;
    const padded = order.length % w === 0 ? order : Int32Array.from({ length: order.length + w - (order.length % w) }, (_, i) => order[i % order.length] as number);
    const out: number[] = [];
    for (let start = 0; start < padded.length; start += globalBatch) {
      const size = Math.min(globalBatch, padded.length - start) / w;
      for (let i = 0; i < size; i++) out.push(padded[start + this.rank * size + i] as number);
    }
    return Int32Array.from(out);
  }

  /**
   * Eval-mode predictions of a whole split, computed a share per rank (`loader` visits this rank's
   * samples) and all-gathered: every rank returns the same rows, ordered by sample index.
   */
  async predictSplit(loader: Loader, samples: readonly Sample[], predict: (l: Loader) => Promise<SplitPredictions>): Promise<SplitPredictions> {
    const before = loader.indices;
    loader.indices = Int32Array.from({ length: Math.ceil((samples.length - this.rank) / this.worldSize) }, (_, i) => this.rank + i * this.worldSize);
    let local: SplitPredictions;
    try {
      local = await predict(loader);
    } finally {
      loader.indices = before;
    }
    return this.gatherPredictions(local, samples);
  }

  gatherPredictions(local: SplitPredictions, samples: readonly Sample[]): SplitPredictions {
    const c = local.numClasses;
    const modalities = Object.keys(local.unimodal);
    const featureDims = local.features ? modalities.map((m) => local.features![m]!.dim) : [];
    const width = 3 + c * (1 + modalities.length) + featureDims.reduce((a, b) => a + b, 0);
    const n = local.index.length;
    const counts = this.group.allGather(tensor([n], { dtype: 'float64' })).map((t) => t.item());
    const most = Math.max(...counts);
    const rows = new Float64Array(most * width);
    for (let i = 0; i < n; i++) {
      const row = rows.subarray(i * width, (i + 1) * width);
      row[0] = local.index[i] as number;
      row[1] = local.labels[i] as number;
      row[2] = local.corrupted[i] as number;
      let at = 3;
      row.set(local.fused.subarray(i * c, (i + 1) * c), at);
      at += c;
      for (const m of modalities) {
        row.set(local.unimodal[m]!.subarray(i * c, (i + 1) * c), at);
        at += c;
      }
      modalities.forEach((m, k) => {
        const d = featureDims[k] as number;
        if (!local.features) return;
        row.set(local.features[m]!.data.subarray(i * d, (i + 1) * d), at);
        at += d;
      });
    }
    const parts = this.group.allGather(tensor(rows, [most, width])).map((t) => t.data() as Float64Array);
    const all: Float64Array[] = [];
    parts.forEach((p, r) => { for (let i = 0; i < (counts[r] as number); i++) all.push(p.subarray(i * width, (i + 1) * width)); });
    all.sort((a, b) => (a[0] as number) - (b[0] as number));
    const take = (offset: number, dim: number): Float32Array => {
      const out = new Float32Array(all.length * dim);
      all.forEach((row, i) => out.set(row.subarray(offset, offset + dim), i * dim));
      return out;
    };
    let at = 3 + c;
    const unimodal: Record<string, Float32Array> = {};
    for (const m of modalities) { unimodal[m] = take(at, c); at += c; }
    const features = local.features && Object.fromEntries(modalities.map((m, k) => {
      const d = featureDims[k] as number;
      const f = { data: take(at, d), dim: d };
      at += d;
      return [m, f];
    }));
    return {
      ids: all.map((row) => (samples[row[0] as number] as Sample).id),
      labels: Int32Array.from(all, (row) => row[1] as number),
      index: Int32Array.from(all, (row) => row[0] as number),
      corrupted: Uint8Array.from(all, (row) => row[2] as number),
      fused: take(3, c), unimodal, numClasses: c,
      ...(features && { features }),
    };
  }

  /** Sums of per-rank values (an epoch's loss sums and counts), the same on every rank. */
  sum(values: number[]): number[] {
    return this.group.allReduce(tensor(values, { dtype: 'float64' })).toArray();
  }

  /**
   * The mean over the ranks of each tensor (new tensors, in `ts`'s order): one all-reduce per
   * dtype and device, of the tensors flattened together. Every rank passes the same shapes.
   */
  meanTensors(ts: Tensor[]): Tensor[] {
    const out: Tensor[] = new Array<Tensor>(ts.length);
    const groups = new Map<string, number[]>();
    ts.forEach((t, i) => {
      const key = `${t.dtype}/${t.device}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    noGrad(() => {
      for (const idx of groups.values()) {
        const flat = this.group.allReduce(cat(idx.map((i) => (ts[i] as Tensor).detach().reshape([-1])))).div(this.worldSize);
        let at = 0;
        for (const i of idx) {
          const t = ts[i] as Tensor;
          out[i] = flat.narrow(0, at, t.numel).reshape(t.shape);
          at += t.numel;
        }
      }
    });
    return out;
  }

  /** Checks that a method's per-sample state came out the same on every rank (it is derived from gathered predictions). */
  checkMethodState(method: Method): void {
    const s: MethodState | undefined = method.state?.();
    if (!s) return;
    const tensors = Object.entries(s.tensors).sort(([a], [b]) => a.localeCompare(b)).map(([k, t]) => `${k}:${Array.from(t.toFloat64Array()).join(',')}`);
    this.sameOnAllRanks(`method ${method.name}'s state`, JSON.stringify(s.json) + tensors.join(';'), 'this is a bug in mmgap: please report it');
  }

  /** Turns an engine error caused by a lost peer (seen inside backward, say) into one line. */
  explain(e: unknown): unknown {
    if (e instanceof DistributedError || !(e instanceof Error)) return e;
    if (/connection (closed|reset)|read error|write error|broken pipe/i.test(e.message)) {
      return new DistributedError(`rank ${this.rank}: another rank of the ${this.worldSize} left the job (${e.message.split('\n')[0]})`);
    }
    return e;
  }
}

/** The run directory as ranks other than 0 see it: they read it (config, checkpoints) and never write. */
export class ReadOnlyRunDir extends RunDir {
  override writeText(): void {}
  override log(): void {}
  override saveCheckpoint(): void {}
}
