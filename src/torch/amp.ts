/**
 * Mixed precision: autocast regions (as `torch.autocast`) and dynamic loss scaling (as
 * `torch.cuda.amp.GradScaler`). The addon exposes libtorch's thread-local autocast state one
 * primitive at a time; entering and leaving a region, nesting and the cast cache follow
 * torch/amp/autocast_mode.py (PyTorch 1.13) line by line.
 */
import { readFileSync } from 'node:fs';
import { native } from './native.js';
import { dtypeCode, dtypeName, type DType } from './dtype.js';
import { noGrad } from './autograd.js';
import { tidy } from './scope.js';
import type { Tensor } from './tensor.js';
import type { Optimizer } from './optim/optimizer.js';
import * as ops from './ops.generated.js';

/** The precisions a run can train and evaluate in: fp32, or autocast to bfloat16 or float16 with fp32 weights. */
export const PRECISIONS = ['fp32', 'bf16', 'fp16'] as const;
export type Precision = (typeof PRECISIONS)[number];
export type AutocastDevice = 'cpu' | 'cuda';

const AUTOCAST_DTYPES: Record<Exclude<Precision, 'fp32'>, DType> = { bf16: 'bfloat16', fp16: 'float16' };

/** The autocast device type of a device name ('cuda:1' -> 'cuda'). */
export function autocastDevice(device: string): AutocastDevice {
  return device === 'cpu' ? 'cpu' : 'cuda';
}

/**
 * Why `precision` cannot run on `device` (a one-line message naming the fix), or null.
 * `capability`: the GPU's compute capability [major, minor] (null when unknown).
 */
export function precisionProblem(precision: Precision, device: string, capability: [number, number] | null): string | null {
  if (precision === 'fp16' && autocastDevice(device) === 'cpu') {
    return 'precision fp16 needs a CUDA device: libtorch autocasts to bfloat16 only on the CPU. Fix: use --precision bf16 (or fp32) on the CPU, or --device cuda';
  }
  if (precision === 'bf16' && autocastDevice(device) === 'cuda' && capability !== null && capability[0] < 8) {
    return `precision bf16: GPU ${device} (compute capability ${capability.join('.')}) has no bfloat16 (it needs 8.0 or newer). Fix: use --precision fp16 or fp32`;
  }
  return null;
}

/**
 * The CPU's feature flags as Linux lists them (the first "flags" line of /proc/cpuinfo); empty
 * where there is no such file, and then nothing is said about the CPU.
 */
export function cpuFlags(cpuinfo = '/proc/cpuinfo'): Set<string> {
  let text: string;
  try {
    text = readFileSync(cpuinfo, 'utf8');
  } catch {
    return new Set();
  }
  const line = /^flags\s*:(.*)$/m.exec(text);
  return new Set(line ? (line[1] as string).trim().split(/\s+/) : []);
}

/**
 * Why `precision` will run far slower than fp32 on `device` (a one-line note naming the fix), or
 * null. libtorch's oneDNN has bf16 kernels only for x86 CPUs with AVX512BW, AVX512VL and AVX512DQ
 * (libtorch 1.13's mkldnn_bf16_device_check); on others, e.g. AVX2-only CPUs, a bf16 convolution
 * falls back to reference loops: 14-18x slower than fp32 on an AVX2 CPU, in PyTorch and in mmgap alike
 * (docs/RESULTS.md §2.1). Results stay correct, so this is a note, not an error.
 * `flags`: the CPU's (cpuFlags()); an empty set says nothing is known.
 */
export function precisionSlowdown(precision: Precision, device: string, flags: ReadonlySet<string>): string | null {
  if (precision !== 'bf16' || autocastDevice(device) !== 'cpu' || !flags.has('sse2')) return null;
  const missing = ['avx512bw', 'avx512vl', 'avx512dq'].filter((f) => !flags.has(f));
  if (missing.length === 0) return null;
  return `precision bf16 on this CPU (no ${missing.join(', ')}): libtorch has no bf16 kernels for it and runs bf16 convolutions ` +
    'through reference loops, over 10x slower than fp32. Fix: use --precision fp32 here, or bf16 on a CPU with AVX512 (AVX512-BF16 for a speed-up) or a CUDA GPU';
}

/** Throws when `precision` cannot run on `device` (see precisionProblem). */
export function checkPrecision(precision: Precision, device: string): void {
  const index = device.startsWith('cuda:') ? Number(device.slice(5)) : 0;
  const problem = precisionProblem(precision, device, autocastDevice(device) === 'cuda' ? native.cudaCapability(index) : null);
  if (problem) throw new Error(problem);
}

export interface AutocastOptions {
  /** False makes a region with autocast off (e.g. to force float32 inside an autocast region). */
  enabled?: boolean;
  /** Whether casts of leaf tensors (the weights) are cached until the outermost region ends; default: as the enclosing state. */
  cacheEnabled?: boolean;
}

/**
 * Runs `fn` with libtorch's autocast on for `device` (as `with torch.autocast(device, dtype)`):
 * the operators on autocast's lists run in `dtype` (matrix products and convolutions) or in
 * float32 (losses, reductions), as libtorch's policy for the device says. On leaving the
 * outermost region the cache of cast weights is cleared; the previous state comes back on
 * every exit, exceptions included. `fn` must be synchronous (the state is thread-local).
 */
export function autocast<T>(device: AutocastDevice, dtype: DType, fn: () => T, opts: AutocastOptions = {}): T {
  if (device !== 'cpu' && device !== 'cuda') throw new TypeError(`autocast: device must be "cpu" or "cuda", got "${String(device)}"`);
  if (device === 'cpu' && dtype !== 'bfloat16') {
    throw new TypeError(`autocast: libtorch's CPU autocast supports only bfloat16, got ${dtype}`);
  }
  if (device === 'cuda' && dtype !== 'bfloat16' && dtype !== 'float16') {
    throw new TypeError(`autocast: CUDA autocast supports float16 and bfloat16, got ${dtype}`);
  }
  const prevCache = native.autocastCacheEnabled();
  const [prevEnabled, prevDtype] = native.getAutocast(device);
  native.setAutocast(device, opts.enabled ?? true, dtypeCode(dtype));
  native.autocastNesting(1);
  native.setAutocastCacheEnabled(opts.cacheEnabled ?? prevCache);
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('autocast(fn): fn returned a Promise; the autocast state cannot span an await');
    return r;
  } finally {
    if (native.autocastNesting(-1) === 0) native.clearAutocastCache();
    native.setAutocast(device, prevEnabled, prevDtype);
    native.setAutocastCacheEnabled(prevCache);
  }
}

/** Whether autocast is on for `device`, and its dtype. */
export function autocastState(device: AutocastDevice): { enabled: boolean; dtype: DType } {
  const [enabled, code] = native.getAutocast(device);
  return { enabled, dtype: dtypeName(code) };
}

/** Runs `fn` in `precision` on `device`: as is for fp32, else in an autocast region. */
export function withPrecision<T>(precision: Precision, device: string, fn: () => T): T {
  return precision === 'fp32' ? fn() : autocast(autocastDevice(device), AUTOCAST_DTYPES[precision], fn);
}

export interface GradScalerOptions {
  initScale: number;
  growthFactor: number;
  backoffFactor: number;
  /** Consecutive steps without non-finite gradients after which the scale grows. */
  growthInterval: number;
}

/** torch.cuda.amp.GradScaler's defaults. */
export const GRAD_SCALER_DEFAULTS: Readonly<GradScalerOptions> = { initScale: 2 ** 16, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 };

interface OptimizerAmpState { stage: 'unscaled' | 'stepped'; foundInf: boolean }

/**
 * Dynamic loss scaling for float16 training, equal to torch.cuda.amp.GradScaler
 * (torch/cuda/amp/grad_scaler.py with the kernels of aten/src/ATen/native/cuda/AmpKernels.cu):
 * `scaleLoss(loss).backward()`, then `step(optimizer)` unscales the gradients (checking them for
 * inf/NaN first) and skips the optimizer step when any is non-finite, then `update()` halves the
 * scale after a skipped step or doubles it after `growthInterval` clean steps in a row. The scale
 * is a float32 value, as GradScaler's scale tensor; the arithmetic is rounded like it.
 */
export class GradScaler {
  readonly opts: GradScalerOptions;
  #scale: number;
  #growthTracker = 0;
  readonly #states = new Map<Optimizer<{ lr: number }>, OptimizerAmpState>();
  /** Optimizer steps skipped for non-finite gradients so far. */
  skippedSteps = 0;

  constructor(opts: Partial<GradScalerOptions> = {}) {
    this.opts = { ...GRAD_SCALER_DEFAULTS, ...opts };
    const { initScale, growthFactor, backoffFactor, growthInterval } = this.opts;
    if (!(initScale > 0 && Number.isFinite(initScale))) throw new RangeError(`GradScaler: initScale must be a positive number, got ${initScale}`);
    if (!(growthFactor > 1)) throw new RangeError(`GradScaler: growthFactor must be > 1, got ${growthFactor}`);
    if (!(backoffFactor > 0 && backoffFactor < 1)) throw new RangeError(`GradScaler: backoffFactor must be in (0, 1), got ${backoffFactor}`);
    if (!(Number.isInteger(growthInterval) && growthInterval >= 1)) throw new RangeError(`GradScaler: growthInterval must be a positive integer, got ${growthInterval}`);
    this.#scale = Math.fround(initScale);
  }

  /** The current loss scale. */
  get scale(): number { return this.#scale; }
  /** Clean steps since the last growth or backoff. */
  get growthTracker(): number { return this.#growthTracker; }

  /** The loss multiplied by the scale (call `.backward()` on it). */
  scaleLoss(loss: Tensor): Tensor { return loss.mul(this.#scale); }

  /**
   * Divides the gradients of `optimizer`'s parameters by the scale, in place, and records whether
   * any was inf or NaN (optional: `step` does it; call it first to read or clip true gradients).
   */
  unscale_(optimizer: Optimizer<{ lr: number }>): void {
    const st = this.#states.get(optimizer);
    if (st?.stage === 'unscaled') throw new Error('GradScaler.unscale_: already called for this optimizer since the last update()');
    if (st?.stage === 'stepped') throw new Error('GradScaler.unscale_: called after step(); call update() first');
    const inv = Math.fround(1 / this.#scale);
    const foundInf = noGrad(() => tidy(() => {
      const byDtype = new Map<string, Tensor[]>();
      for (const g of optimizer.groups) for (const p of g.params) {
        const gr = p.grad;
        if (!gr) continue;
        if (gr.dtype === 'float16') throw new Error('GradScaler: cannot unscale float16 gradients; keep the parameters in float32 (autocast does)');
        const key = `${gr.device}/${gr.dtype}`;
        const list = byDtype.get(key);
        if (list) list.push(gr); else byDtype.set(key, [gr]);
      }
      let found = false;
      for (const grads of byDtype.values()) {
        // The largest |g| of each gradient is inf exactly when one is inf, NaN when one is NaN.
        const peak = ops.stack(ops._foreach_norm(grads, Infinity)).max().item();
        if (!Number.isFinite(peak)) found = true;
        ops._foreach_mul_(grads, inv);
      }
      return found;
    }));
    this.#states.set(optimizer, { stage: 'unscaled', foundInf });
  }

  /** Unscales (unless done) and steps `optimizer` when every gradient is finite; returns whether it stepped. */
  step(optimizer: Optimizer<{ lr: number }>): boolean {
    if (this.#states.get(optimizer)?.stage === 'stepped') throw new Error('GradScaler.step: already called since the last update()');
    if (!this.#states.has(optimizer)) this.unscale_(optimizer);
    const st = this.#states.get(optimizer) as OptimizerAmpState;
    st.stage = 'stepped';
    if (st.foundInf) { this.skippedSteps++; return false; }
    optimizer.step();
    return true;
  }

  /** Backs the scale off after a step with non-finite gradients, or grows it after growthInterval clean steps. */
  update(): void {
    if (this.#states.size === 0) throw new Error('GradScaler.update: no gradients were checked since the last update(); call step() first');
    const foundInf = [...this.#states.values()].some((s) => s.foundInf);
    const { growthFactor, backoffFactor, growthInterval } = this.opts;
    if (foundInf) {
      this.#scale = Math.fround(this.#scale * backoffFactor);
      this.#growthTracker = 0;
    } else if (this.#growthTracker + 1 === growthInterval) {
      const grown = Math.fround(this.#scale * growthFactor);
      if (Number.isFinite(grown)) this.#scale = grown;
      this.#growthTracker = 0;
    } else {
      this.#growthTracker++;
    }
    this.#states.clear();
  }

  /** What a checkpoint keeps (a resumed run continues with the same scale). */
  stateDict(): { scale: number; growthTracker: number; skippedSteps: number } {
    return { scale: this.#scale, growthTracker: this.#growthTracker, skippedSteps: this.skippedSteps };
  }

  loadStateDict(s: { scale: number; growthTracker: number; skippedSteps: number }): void {
    this.#scale = Math.fround(s.scale);
    this.#growthTracker = s.growthTracker;
    this.skippedSteps = s.skippedSteps;
    this.#states.clear();
  }
}
