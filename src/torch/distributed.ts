/**
 * Data-parallel training on PyTorch's own distributed engine (c10d, in the addon's dist.cc):
 * a process group per rank that meets the others through c10d's TCPStore (torchrun's
 * conventions: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), collectives on tensors,
 * and DistributedDataParallel, which keeps a Module's replicas identical: parameters and buffers
 * broadcast from rank 0 at the start, gradients averaged by c10d's Reducer in buckets while
 * backward still runs. Backends: Gloo (CPU tensors); NCCL where the linked libtorch has CUDA.
 */
import { native, type NativeBinding, type TensorHandle } from './native.js';
import { Tensor, cat } from './tensor.js';
import { noGrad } from './autograd.js';
import type { Module } from './nn/module.js';

/** The addon's distributed exports (native/src/dist.cc). */
interface DistributedBinding {
  distInit(o: { backend: Backend; host: string; port: number; rank: number; worldSize: number; timeoutMs: number; ifname: string; deviceHost: string }): GroupHandle;
  distShutdown(g: GroupHandle): void;
  distAllReduce(g: GroupHandle, t: TensorHandle, op: ReduceOp): void;
  distBroadcast(g: GroupHandle, t: TensorHandle, root: number): void;
  distAllGather(g: GroupHandle, t: TensorHandle): TensorHandle[];
  distBarrier(g: GroupHandle): void;
  distAllReduceGrad(g: GroupHandle, t: TensorHandle): TensorHandle;
  ddpReducer(g: GroupHandle, params: TensorHandle[], bucketBytes: number, firstBucketBytes: number, findUnused: boolean): ReducerHandle;
  ddpPrepareBackward(r: ReducerHandle, outputs: TensorHandle[]): void;
  ddpRelease(r: ReducerHandle): void;
  seededRandn(like: TensorHandle, seed: number): TensorHandle;
}
type GroupHandle = { readonly __group: unique symbol };
type ReducerHandle = { readonly __reducer: unique symbol };
const dist = native as NativeBinding & DistributedBinding;

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'max' | 'min' | 'product';

/** A failure of the distributed job (rendezvous, a lost peer, a collective past its timeout): one line, naming what to fix. */
export class DistributedError extends Error {}

/** Where a rank sits in the job, as torchrun describes it in the environment. */
export interface RankEnv {
  rank: number;
  worldSize: number;
  /** Rank among the processes of this machine (picks the GPU under NCCL). */
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

/** PyTorch's default rendezvous port. */
export const DEFAULT_MASTER_PORT = 29500;

/**
 * The torchrun variables of `env`, or null when WORLD_SIZE is unset (a single-process run).
 * An incomplete or inconsistent set is an error naming the variable.
 */
export function rankEnv(env: NodeJS.ProcessEnv = process.env): RankEnv | null {
  if (env.WORLD_SIZE === undefined) return null;
  const int = (name: string, fallback?: number): number => {
    const text = env[name];
    if (text === undefined && fallback !== undefined) return fallback;
    const v = Number(text);
    if (text === undefined || text.trim() === '' || !Number.isInteger(v) || v < 0) {
      throw new DistributedError(`${name}=${text ?? '(unset)'} must be a non-negative integer (torchrun's variables: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK)`);
    }
    return v;
  };
  const worldSize = int('WORLD_SIZE');
  const rank = int('RANK');
  if (worldSize < 1) throw new DistributedError('WORLD_SIZE must be at least 1');
  if (rank >= worldSize) throw new DistributedError(`RANK=${rank} must be below WORLD_SIZE=${worldSize}`);
  const masterPort = int('MASTER_PORT', DEFAULT_MASTER_PORT);
  if (masterPort < 1 || masterPort > 65535) throw new DistributedError(`MASTER_PORT=${masterPort} must be a TCP port (1-65535)`);
  return { rank, worldSize, localRank: int('LOCAL_RANK', rank), masterAddr: env.MASTER_ADDR ?? '127.0.0.1', masterPort };
}

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  backend?: Backend;
  /** How long rendezvous and each collective may wait for the other ranks (default 60 s). */
  timeoutMs?: number;
}

const isLoopback = (addr: string): boolean => addr === 'localhost' || addr.startsWith('127.') || addr === '::1';

/** One rank's membership in a job of `worldSize` processes. Collectives block until every rank has joined them. */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  #handle: GroupHandle | null;

  private constructor(handle: GroupHandle, o: Required<ProcessGroupOptions>) {
    this.#handle = handle;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.backend = o.backend;
  }

  /**
   * Joins the job: rank 0 serves the store at masterAddr:masterPort, every rank connects and the
   * backend meets its peers. Blocks until all ranks have arrived; fails within `timeoutMs`,
   * naming the address and port, when they do not. Gloo binds to GLOO_SOCKET_IFNAME when set (as
   * PyTorch), to the loopback address when the master is on this machine, else to this host's name.
   */
  static init(opts: ProcessGroupOptions): ProcessGroup {
    const o: Required<ProcessGroupOptions> = { backend: 'gloo', timeoutMs: 60_000, ...opts };
    const where = `${o.masterAddr}:${o.masterPort}`;
    try {
      const handle = dist.distInit({
        backend: o.backend, host: o.masterAddr, port: o.masterPort, rank: o.rank, worldSize: o.worldSize, timeoutMs: o.timeoutMs,
        ifname: process.env.GLOO_SOCKET_IFNAME ?? '', deviceHost: isLoopback(o.masterAddr) ? '127.0.0.1' : '',
      });
      return new ProcessGroup(handle, o);
    } catch (e) {
      const m = (e as Error).message;
      const s = String(o.timeoutMs / 1000);
      if (/already in use/i.test(m)) throw new DistributedError(`rendezvous port ${o.masterPort} is in use on this machine; pick a free one with MASTER_PORT (mmgap: --master-port)`);
      if (/trying to connect to/i.test(m)) {
        throw new DistributedError(`rank ${o.rank} could not reach the rendezvous store at ${where} within ${s} s; check MASTER_ADDR and MASTER_PORT, and that rank 0 runs`);
      }
      if (/time(d)? ?out/i.test(m)) {
        throw new DistributedError(`rendezvous at ${where}: not all ${o.worldSize} ranks arrived within ${s} s (rank ${o.rank} waited); start every rank with the same WORLD_SIZE, MASTER_ADDR and MASTER_PORT`);
      }
      throw new DistributedError(`rendezvous at ${where} failed for rank ${o.rank}: ${m.split('\n')[0]}`);
    }
  }

  get handle(): GroupHandle {
    if (!this.#handle) throw new DistributedError('process group: used after shutdown()');
    return this.#handle;
  }

  /** Runs a collective; a peer that died or stalled past the timeout becomes a DistributedError. */
  #collective<T>(name: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      const m = (e as Error).message.split('\n')[0] as string;
      if (/connection (closed|reset)|read error|write error|broken pipe|timed out|timeout/i.test(m)) {
        throw new DistributedError(`rank ${this.rank}: ${name} failed, another rank of the ${this.worldSize} left the job or stopped answering (${m.replace(/^\w+: /, '')})`);
      }
      throw e;
    }
  }

  /** Reduces `t` (contiguous) over all ranks, in place; returns it. */
  allReduce(t: Tensor, op: ReduceOp = 'sum'): Tensor {
    this.#collective('allReduce', () => dist.distAllReduce(this.handle, t.handle, op));
    return t;
  }

  /**
   * The sum of `t` over all ranks as a new tensor that autograd sees through: its backward
   * all-reduces the gradient, since every rank's loss depends on the sum (SyncBatchNorm's
   * statistics). Every rank must reach the backward too, in the same order, as for any collective.
   */
  allReduceGrad(t: Tensor): Tensor {
    return new Tensor(this.#collective('allReduceGrad', () => dist.distAllReduceGrad(this.handle, t.handle)));
  }

  /** Every rank's `t` (the same shape on all), by rank. */
  allGather(t: Tensor): Tensor[] {
    return this.#collective('allGather', () => dist.distAllGather(this.handle, t.handle)).map((h) => new Tensor(h));
  }

  /** Copies rank `root`'s `t` into every rank's `t`, in place; returns it. */
  broadcast(t: Tensor, root = 0): Tensor {
    this.#collective('broadcast', () => dist.distBroadcast(this.handle, t.handle, root));
    return t;
  }

  /** Returns once every rank has called it. */
  barrier(): void {
    this.#collective('barrier', () => dist.distBarrier(this.handle));
  }

  /** Leaves the job now (the connections close; peers still in a collective with this rank fail). */
  shutdown(): void {
    if (this.#handle) dist.distShutdown(this.#handle);
    this.#handle = null;
  }
}

/** Copies rank 0's values of `tensors` into every rank's, one broadcast per dtype (flattened together). */
export function broadcastTensors(group: ProcessGroup, tensors: Tensor[], root = 0): void {
  const byType = new Map<string, Tensor[]>();
  for (const t of tensors) byType.set(`${t.dtype}/${t.device}`, [...(byType.get(`${t.dtype}/${t.device}`) ?? []), t]);
  noGrad(() => {
    for (const ts of byType.values()) {
      const flat = group.broadcast(cat(ts.map((t) => t.reshape([-1]))), root);
      let at = 0;
      for (const t of ts) {
        t.copy_(flat.narrow(0, at, t.numel).reshape(t.shape));
        at += t.numel;
      }
      flat.dispose();
    }
  });
}

export interface DdpOptions {
  /** Bucket size for the gradient all-reduce (PyTorch's default 25 MiB; the first bucket 1 MiB). */
  bucketBytes?: number;
  firstBucketBytes?: number;
  /**
   * Search the graph from the loss for parameters that get no gradient this step (frozen or
   * unused branches), as PyTorch's find_unused_parameters: costs a graph walk per step.
   */
  findUnusedParameters?: boolean;
}

/**
 * DistributedDataParallel for a Module: at construction every rank takes rank 0's parameters and
 * buffers; then, for each training step, `prepareBackward(loss)` before `loss.backward()` makes
 * c10d's Reducer average the gradients over the ranks (bucket by bucket, as backward produces
 * them), so every rank's optimizer applies the same update. BatchNorm statistics stay per rank
 * (PyTorch's default); `syncBuffers` copies rank 0's, as PyTorch's broadcast_buffers before a forward.
 */
export class DistributedDataParallel {
  #reducer: ReducerHandle | null;
  readonly findUnusedParameters: boolean;

  constructor(readonly module: Module, readonly group: ProcessGroup, o: DdpOptions = {}) {
    const params = module.parameters();
    broadcastTensors(group, [...params, ...module.buffers()]);
    this.findUnusedParameters = o.findUnusedParameters ?? false;
    this.#reducer = dist.ddpReducer(group.handle, params.map((p) => p.handle), o.bucketBytes ?? 25 * 2 ** 20, o.firstBucketBytes ?? 2 ** 20, this.findUnusedParameters);
  }

  /** Copies rank 0's buffers (BatchNorm running statistics) to every rank. */
  syncBuffers(): void {
    const buffers = this.module.buffers();
    if (buffers.length) broadcastTensors(this.group, buffers);
  }

  /** Arms gradient averaging for the next backward of `loss`. */
  prepareBackward(loss: Tensor): void {
    if (!this.#reducer) throw new DistributedError('DistributedDataParallel: used after release()');
    dist.ddpPrepareBackward(this.#reducer, this.findUnusedParameters ? [loss.handle] : []);
  }

  /** Removes the gradient hooks (backward no longer all-reduces). */
  release(): void {
    if (this.#reducer) dist.ddpRelease(this.#reducer);
    this.#reducer = null;
  }
}

/**
 * Standard normal numbers shaped like `like` (its dtype and device) from a generator of their own,
 * seeded with `seed` (an integer in [0, 2^53)): every rank that asks with the same seed draws the
 * same numbers, so noise a method adds to the (already averaged) gradients keeps the replicas
 * equal; libtorch's default generator, which dropout and the epoch's seeding use, is untouched.
 */
export function seededRandn(like: Tensor, seed: number): Tensor {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seededRandn: seed must be an integer in [0, 2^53), got ${seed}`);
  return new Tensor(dist.seededRandn(like.handle, seed));
}

/**
 * Joins the job that torchrun's variables in `env` describe, or returns null when they describe
 * none. MMGAP_DIST_TIMEOUT (seconds, default 60) bounds rendezvous and every collective.
 */
export function joinFromEnv(env: NodeJS.ProcessEnv = process.env): ProcessGroup | null {
  const r = rankEnv(env);
  if (!r || r.worldSize === 1) return null;
  const timeout = Number(env.MMGAP_DIST_TIMEOUT ?? 60);
  if (!(timeout > 0)) throw new DistributedError(`MMGAP_DIST_TIMEOUT=${env.MMGAP_DIST_TIMEOUT} must be a positive number of seconds`);
  return ProcessGroup.init({ ...r, timeoutMs: timeout * 1000 });
}
