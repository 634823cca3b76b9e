/**
 * Loads the libtorch addon (native/). Everything that touches libtorch goes through this object;
 * when it is missing, the error says how to build it.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../package.js';

/** An opaque handle to an `at::Tensor` owned by the addon. */
export type TensorHandle = { readonly __tensorHandle: unique symbol };

/** An opaque handle to a `torch::jit::Module` owned by the addon (native/src/jit.cc). */
export type ScriptModuleHandle = { readonly __scriptModuleHandle: unique symbol };

export interface SchemaArg { name: string; type: string; N?: number; default?: string; kwargOnly: boolean; mutable: boolean }
export interface Schema { name: string; overload: string; args: SchemaArg[]; returns: string[] }

/** The addon's exports (native/src/addon.cc). */
export interface NativeBinding {
  torchVersion: string;
  /** The CPU allocator of tensor storage: 'caching' (native/src/cpu_allocator.cc) or 'system' (MMGAP_MALLOC=system). */
  cpuAllocator: 'caching' | 'system';
  memoryStats(): import('./memory.js').MemoryStats;
  emptyCache(): number;
  resetPeakStats(): void;
  setMemoryLimit(bytes: number): void;
  opHandle(name: string, overload: string): number;
  callOp(id: number, args: unknown[]): unknown;
  listSchemas(): Schema[];
  fromBuffer(data: ArrayBufferView, shape: number[], dtypeCode: number): TensorHandle;
  toBuffer(t: TensorHandle): ArrayBuffer;
  info(t: TensorHandle): [number[], number, string, boolean];
  dispose(t: TensorHandle): void;
  isDisposed(t: TensorHandle): boolean;
  /** Whether new tensors report their bytes to V8 (off inside tidy scopes). */
  setAccounting(on: boolean): void;
  /** Reports a tensor's bytes to V8 if it was made while accounting was off. */
  account(t: TensorHandle): void;
  setRequiresGrad(t: TensorHandle, on: boolean): void;
  grad(t: TensorHandle): TensorHandle | null;
  setGrad(t: TensorHandle, g: TensorHandle | null): void;
  isLeaf(t: TensorHandle): boolean;
  backward(outputs: TensorHandle[], grads: (TensorHandle | null)[] | null, retainGraph: boolean, createGraph: boolean): void;
  autogradGrad(outputs: TensorHandle[], inputs: TensorHandle[], grads: (TensorHandle | null)[] | null,
    retainGraph: boolean, createGraph: boolean, allowUnused: boolean): (TensorHandle | null)[];
  setGradEnabled(on: boolean): void;
  isGradEnabled(): boolean;
  /** Opens an inference-mode region (c10::InferenceMode); regions close in reverse order. */
  enterInferenceMode(): void;
  exitInferenceMode(): void;
  manualSeed(seed: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaDeviceCount(): number;
  /** Compute capability [major, minor] of CUDA device `index`, from the driver; null without one. */
  cudaCapability(index: number): [number, number] | null;
  /** Autocast state of a device type: [enabled, dtypeCode]. */
  getAutocast(device: 'cpu' | 'cuda'): [boolean, number];
  setAutocast(device: 'cpu' | 'cuda', enabled: boolean, dtypeCode: number): void;
  /** Changes the autocast nesting depth by +1 or -1 and returns the new depth. */
  autocastNesting(delta: 1 | -1): number;
  autocastCacheEnabled(): boolean;
  setAutocastCacheEnabled(on: boolean): void;
  /** Drops the cached casts of leaf tensors (what leaving the outermost autocast region does). */
  clearAutocastCache(): void;
  liveTensors(): number;
  parallelInfo(): string;
  /** TorchScript (native/src/jit.cc): every tensor of the archive, constants included, is loaded onto `device`. */
  jitLoad(path: string, device: string): ScriptModuleHandle;
  /** Its parameters and buffers (the module's own tensors), forward's argument counts besides self and its schema. */
  jitInfo(m: ScriptModuleHandle): { parameters: [string, TensorHandle][]; buffers: [string, TensorHandle][]; arity: number; required: number; training: boolean; forward: string };
  jitSetTensor(m: ScriptModuleHandle, name: string, t: TensorHandle, isBuffer: boolean): void;
  jitTrain(m: ScriptModuleHandle, on: boolean): void;
  jitForward(m: ScriptModuleHandle, inputs: TensorHandle[]): TensorHandle;
  jitSave(m: ScriptModuleHandle, path: string): void;
}

function load(): NativeBinding {
  const root = packageRoot();
  if (!root && !process.env.MMGAP_NATIVE) throw new Error('mmgap: cannot find the package root above ' + fileURLToPath(import.meta.url));
  const path = process.env.MMGAP_NATIVE ?? join(root as string, 'native', 'build', 'Release', 'mmgap_native.node');
  if (!existsSync(path)) {
    throw new Error(`mmgap: the libtorch addon is not built (${path} is missing). ` +
      'Fix: run `make build` in the mmgap checkout (it installs libtorch-dev on Debian/Ubuntu, or set LIBTORCH).');
  }
  try {
    return createRequire(import.meta.url)(path) as NativeBinding;
  } catch (e) {
    throw new Error(`mmgap: could not load the libtorch addon ${path}: ${(e as Error).message}. ` +
      'Fix: install libtorch (`sudo apt-get install -y libtorch-dev`) or point LIBTORCH at it, then run `make build`.');
  }
}

/** The loaded addon (loaded on first import of the engine). */
export const native: NativeBinding = load();
