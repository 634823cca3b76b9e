/**
 * Tensor: a JS handle on a libtorch `at::Tensor`. Native memory is released by `dispose()`, by
 * an enclosing `tidy` scope, or by V8's GC (the addon tells V8 how many bytes each tensor holds).
 * The methods cover what mmgap uses; every ATen operator is also available in `ops`.
 */
import { native, type TensorHandle } from './native.js';
import { dtypeCode, dtypeName, dtypeOfArray, typedArrayOf, type AnyTypedArray, type DType, type MemoryFormat } from './dtype.js';
import { track } from './scope.js';
import * as ops from './ops.generated.js';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
type TensorOrNumber = Tensor | number;

export class Tensor {
  /** @internal the addon's handle */
  readonly handle: TensorHandle;

  /** @internal use the factories (`tensor`, `zeros`, ...) or operators to make tensors */
  constructor(handle: TensorHandle) {
    this.handle = handle;
    track(this);
  }

  // ---- metadata ----
  get shape(): number[] { return native.info(this.handle)[0]; }
  get dtype(): DType { return dtypeName(native.info(this.handle)[1]); }
  get device(): string { return native.info(this.handle)[2]; }
  get ndim(): number { return this.shape.length; }
  get numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
  /** Size of dimension `dim` (negative counts from the end). */
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? s.length + dim : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(${dim}): tensor has ${s.length} dimensions`);
    return s[d] as number;
  }
  get isDisposed(): boolean { return native.isDisposed(this.handle); }
  /** Frees the native memory now (other tensors viewing the same storage keep it alive). */
  dispose(): void { native.dispose(this.handle); }
  toString(): string { return this.isDisposed ? 'Tensor(disposed)' : `Tensor[${this.shape.join(', ')}] ${this.dtype} ${this.device}`; }

  // ---- data out ----
  /** Copies the elements out (contiguous, row-major) into a typed array of the tensor's dtype. */
  data(): AnyTypedArray { return typedArrayOf(this.dtype, native.toBuffer(this.handle)); }
  /** The elements as float32 (converting if needed). */
  toFloat32Array(): Float32Array {
    return this.dtype === 'float32' ? (this.data() as Float32Array) : (ops._to_copy(this, 'float32').data() as Float32Array);
  }
  toFloat64Array(): Float64Array {
    return this.dtype === 'float64' ? (this.data() as Float64Array) : (ops._to_copy(this, 'float64').data() as Float64Array);
  }
  /** The elements as a plain JS array (flat); int64 values become numbers. */
  toArray(): number[] {
    const d = this.data();
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as ArrayLike<number>);
  }
  /** The single element of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new RangeError(`item(): tensor has ${this.numel} elements (shape [${this.shape.join(', ')}])`);
    return this.toArray()[0] as number;
  }

  // ---- autograd ----
  get requiresGrad(): boolean { return native.info(this.handle)[3]; }
  set requiresGrad(on: boolean) { native.setRequiresGrad(this.handle, on); }
  /** Sets requiresGrad and returns this (as PyTorch's `requires_grad_`). */
  requiresGrad_(on = true): this { native.setRequiresGrad(this.handle, on); return this; }
  /** The accumulated gradient, or null. A new JS handle on the same gradient each time. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) { native.setGrad(this.handle, g === null ? null : g.handle); }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this.handle], gradient ? [gradient.handle] : null, opts.retainGraph ?? false, opts.createGraph ?? false);
  }
  detach(): Tensor { return ops.detach(this); }

  // ---- conversion ----
  /**
   * A copy in another dtype or on another device; the tensor itself when it is already there (as
   * PyTorch). `nonBlocking`: a copy from pinned host memory to CUDA returns before it is done (it
   * runs in order on the current stream), as PyTorch's `non_blocking=True`.
   */
  to(target: DType | Device, opts: { memoryFormat?: MemoryFormat; nonBlocking?: boolean } = {}): Tensor {
    const nonBlocking = opts.nonBlocking ?? false;
    if (isDType(target)) {
      if (!opts.memoryFormat && this.dtype === target) return this;
      return ops._to_copy(this, target, null, null, null, nonBlocking, opts.memoryFormat ?? null);
    }
    if (!opts.memoryFormat && sameDevice(this.device, target)) return this;
    return ops._to_copy(this, null, null, target, null, nonBlocking, opts.memoryFormat ?? null);
  }
  /**
   * A copy in page-locked (pinned) host memory, from which a copy to CUDA can run asynchronously.
   * Pinning needs CUDA: without it (a CPU-only libtorch, or no GPU visible) an error says so
   * instead of libtorch's dispatcher message.
   */
  pinMemory(): Tensor {
    if (native.cudaDeviceCount() === 0) {
      throw new Error(`pinMemory(): pinned host memory needs CUDA, and this libtorch (${native.torchVersion}) has none or sees no GPU; pin only when the device is cuda`);
    }
    return ops.pin_memory(this);
  }
  /** Whether the tensor is in pinned host memory (always false without CUDA). */
  get isPinned(): boolean { return ops.is_pinned(this); }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  contiguous(memoryFormat: MemoryFormat = 'contiguous'): Tensor { return ops.contiguous(this, memoryFormat); }
  clone(): Tensor { return ops.clone(this); }

  // ---- shape ----
  reshape(shape: number[]): Tensor { return ops.reshape(this, shape); }
  view(shape: number[]): Tensor { return ops.view(this, shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return ops.flatten(this, startDim, endDim); }
  unsqueeze(dim: number): Tensor { return ops.unsqueeze(this, dim); }
  squeeze(dim?: number): Tensor { return dim === undefined ? ops.squeeze(this) : ops.squeeze(this, dim); }
  transpose(dim0: number, dim1: number): Tensor { return ops.transpose(this, dim0, dim1); }
  permute(dims: number[]): Tensor { return ops.permute(this, dims); }
  /** 2-D transpose. */
  t(): Tensor { return ops.t(this); }
  expand(shape: number[]): Tensor { return ops.expand(this, shape); }
  /** Elements [start, end) along `dim` (a view). */
  slice(dim: number, start: number, end?: number, step = 1): Tensor { return ops.slice(this, dim, start, end ?? null, step); }
  narrow(dim: number, start: number, length: number): Tensor { return ops.narrow(this, dim, start, length); }
  select(dim: number, index: number): Tensor { return ops.select(this, dim, index); }
  indexSelect(dim: number, index: Tensor): Tensor { return ops.index_select(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return ops.gather(this, dim, index); }
  chunk(chunks: number, dim = 0): Tensor[] { return ops.chunk(this, chunks, dim); }
  split(sizes: number[], dim = 0): Tensor[] { return ops.split_with_sizes(this, sizes, dim); }

  // ---- arithmetic (broadcasting) ----
  add(other: TensorOrNumber, alpha?: number): Tensor { return ops.add(this, other as Tensor, alpha); }
  sub(other: TensorOrNumber, alpha?: number): Tensor { return ops.sub(this, other as Tensor, alpha); }
  mul(other: TensorOrNumber): Tensor { return ops.mul(this, other as Tensor); }
  div(other: TensorOrNumber): Tensor { return ops.div(this, other as Tensor); }
  pow(exponent: TensorOrNumber): Tensor { return ops.pow(this, exponent as Tensor); }
  neg(): Tensor { return ops.neg(this); }
  abs(): Tensor { return ops.abs(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  square(): Tensor { return ops.square(this); }
  relu(): Tensor { return ops.relu(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  tanh(): Tensor { return ops.tanh(this); }
  clamp(min: number | null, max: number | null = null): Tensor { return ops.clamp(this, min, max); }
  matmul(other: Tensor): Tensor { return ops.matmul(this, other); }
  softmax(dim: number): Tensor { return ops.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return ops.log_softmax(this, dim); }

  // ---- in place ----
  // In place: `this` is returned, and the operator's second handle on the same tensor released at once.
  add_(other: TensorOrNumber, alpha?: number): this { ops.add_(this, other as Tensor, alpha).dispose(); return this; }
  mul_(other: TensorOrNumber): this { ops.mul_(this, other as Tensor).dispose(); return this; }
  copy_(src: Tensor): this { ops.copy_(this, src).dispose(); return this; }
  zero_(): this { ops.zero_(this).dispose(); return this; }
  fill_(value: number): this { ops.fill_(this, value).dispose(); return this; }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? ops.sum(this) : ops.sum(this, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? ops.mean(this) : ops.mean(this, dim, keepdim); }
  /** Maximum over all elements, or `[values, indices]` along `dim`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [Tensor, Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] { return dim === undefined ? ops.max(this) : ops.max(this, dim, keepdim); }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [Tensor, Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] { return dim === undefined ? ops.min(this) : ops.min(this, dim, keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return ops.argmax(this, dim ?? null, keepdim); }
  norm(p = 2): Tensor { return ops.norm(this, p); }

  // ---- comparisons (bool tensors) ----
  eq(other: TensorOrNumber): Tensor { return ops.eq(this, other as Tensor); }
  ne(other: TensorOrNumber): Tensor { return ops.ne(this, other as Tensor); }
  gt(other: TensorOrNumber): Tensor { return ops.gt(this, other as Tensor); }
  ge(other: TensorOrNumber): Tensor { return ops.ge(this, other as Tensor); }
  lt(other: TensorOrNumber): Tensor { return ops.lt(this, other as Tensor); }
  le(other: TensorOrNumber): Tensor { return ops.le(this, other as Tensor); }
}

const DTYPES = new Set<string>(['uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', 'bool', 'bfloat16',
  'complex64', 'complex128']);
function isDType(v: string): v is DType { return DTYPES.has(v); }

/** Whether a tensor on `actual` is on `wanted` ('cuda' is the default CUDA device, which libtorch reports as 'cuda:0'). */
function sameDevice(actual: string, wanted: string): boolean {
  return actual === wanted || (wanted === 'cuda' && actual === 'cuda:0');
}

export interface TensorOptions { dtype?: DType; device?: Device; requiresGrad?: boolean }

type Nested = number | boolean | Nested[];

function flattenNested(data: Nested, shape: number[], out: number[], depth: number): void {
  if (!Array.isArray(data)) { out.push(Number(data)); return; }
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new RangeError(`tensor(): ragged nested array at depth ${depth} (length ${data.length}, expected ${shape[depth]})`);
  for (const d of data) flattenNested(d, shape, out, depth + 1);
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  let r = t;
  if (opts.device) r = t.to(opts.device);
  if (opts.requiresGrad) r.requiresGrad = true;
  return r;
}

/**
 * Makes a tensor from a typed array (with `shape`) or a nested JS array. Data is copied.
 * Without `dtype`, a typed array keeps its own type and a JS array becomes float32.
 */
export function tensor(data: AnyTypedArray | Nested, shapeOrOpts?: number[] | TensorOptions, maybeOpts: TensorOptions = {}): Tensor {
  const shapeArg = Array.isArray(shapeOrOpts) ? shapeOrOpts : undefined;
  const opts = Array.isArray(shapeOrOpts) ? maybeOpts : (shapeOrOpts ?? {});
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    const shape = shapeArg ?? [data.length];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new RangeError(`tensor(): shape [${shape.join(', ')}] holds ${n} elements but ${data.length} were given`);
    let t = new Tensor(native.fromBuffer(data, shape, dtypeCode(own)));
    if (opts.dtype) t = t.to(opts.dtype);
    return finish(t, opts);
  }
  const shape: number[] = [];
  const flat: number[] = [];
  flattenNested(data, shape, flat, 0);
  const dtype = opts.dtype ?? 'float32';
  const target = shapeArg ?? shape;
  let t: Tensor;
  if (dtype === 'float64') t = new Tensor(native.fromBuffer(Float64Array.from(flat), target, dtypeCode('float64')));
  else if (dtype === 'int64') t = new Tensor(native.fromBuffer(BigInt64Array.from(flat, (v) => BigInt(Math.trunc(v))), target, dtypeCode('int64')));
  else {
    t = new Tensor(native.fromBuffer(Float32Array.from(flat), target, dtypeCode('float32')));
    t = t.to(dtype);
  }
  return finish(t, opts);
}

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(ops.zeros(shape, opts.dtype ?? 'float32', null, opts.device ?? null), { requiresGrad: opts.requiresGrad ?? false });
}
export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(ops.ones(shape, opts.dtype ?? 'float32', null, opts.device ?? null), { requiresGrad: opts.requiresGrad ?? false });
}
export function full(shape: number[], value: number, opts: TensorOptions = {}): Tensor {
  return finish(ops.full(shape, value, opts.dtype ?? 'float32', null, opts.device ?? null), { requiresGrad: opts.requiresGrad ?? false });
}
/** Standard normal samples from libtorch's generator (seed it with `manualSeed`). */
export function randn(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(ops.randn(shape, opts.dtype ?? 'float32', null, opts.device ?? null), { requiresGrad: opts.requiresGrad ?? false });
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(ops.rand(shape, opts.dtype ?? 'float32', null, opts.device ?? null), { requiresGrad: opts.requiresGrad ?? false });
}
/** Integers in [low, high). */
export function randint(low: number, high: number, shape: number[], opts: TensorOptions = {}): Tensor {
  return ops.randint(low, high, shape, opts.dtype ?? 'int64', null, opts.device ?? null);
}
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  return ops.arange(s, e, step, opts.dtype ?? 'int64', null, opts.device ?? null);
}
export function randperm(n: number, opts: TensorOptions = {}): Tensor { return ops.randperm(n, opts.dtype ?? 'int64', null, opts.device ?? null); }

export function cat(tensors: Tensor[], dim = 0): Tensor { return ops.cat(tensors, dim); }
export function stack(tensors: Tensor[], dim = 0): Tensor { return ops.stack(tensors, dim); }
export function where(condition: Tensor, a: TensorOrNumber, b: TensorOrNumber): Tensor { return ops.where(condition, a as Tensor, b as Tensor); }
