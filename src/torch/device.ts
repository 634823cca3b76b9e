/** Devices, threads and seeds: the process-wide settings of libtorch. */
import { native } from './native.js';
import type { Device } from './tensor.js';

/** Validates a device name; 'cuda' where libtorch has no CUDA gets an error that says what to do. */
export function resolveDevice(name: string): Device {
  if (name === 'cpu') return 'cpu';
  const m = /^cuda(?::(\d+))?$/.exec(name);
  if (!m) throw new Error(`unknown device "${name}"; use "cpu", "cuda" or "cuda:N"`);
  const count = native.cudaDeviceCount();
  if (count === 0) {
    throw new Error(`device "${name}" requested, but this libtorch (${native.torchVersion}) has no CUDA or sees no GPU. ` +
      'Fix: use --device cpu, or set LIBTORCH to a CUDA build of LibTorch and run `make build` again.');
  }
  const index = m[1] === undefined ? 0 : Number(m[1]);
  if (index >= count) throw new Error(`device "${name}": only ${count} CUDA device(s) visible`);
  return m[1] === undefined ? 'cuda' : `cuda:${index}`;
}

export function cudaAvailable(): boolean { return native.cudaDeviceCount() > 0; }
/** Intra-op threads used by libtorch's CPU kernels. */
export function setNumThreads(n: number): void { native.setNumThreads(n); }
export function getNumThreads(): number { return native.getNumThreads(); }
/** Seeds libtorch's default generators (CPU and CUDA), as `torch.manual_seed`. */
export function manualSeed(seed: number): void { native.manualSeed(seed); }
/** Tensors alive in native memory (not disposed, not collected): for leak checks. */
export function liveTensors(): number { return native.liveTensors(); }
export const libtorchVersion: string = native.torchVersion;
