/**
 * TorchScript modules (torch.jit.save files) in mmgap's engine: a ScriptModule is an nn.Module
 * whose parameters and buffers are the TorchScript module's own tensors, registered under the
 * names of its `state_dict()`, so every optimizer, DDP and mmgap's checkpoints train and read them
 * in place; forward runs in libtorch's JIT interpreter under the caller's grad, inference and
 * autocast state.
 */
import { renameSync, rmSync } from 'node:fs';
import { native, type ScriptModuleHandle } from './native.js';
import { Tensor } from './tensor.js';
import { Module } from './nn/module.js';

export class ScriptModule extends Module {
  readonly #handle: ScriptModuleHandle;
  /** The tensor of each name last put into the TorchScript module (Module.to replaces them on the TypeScript side). */
  readonly #given = new Map<string, Tensor>();
  /** The train/eval mode last set on the TorchScript module. */
  #mode: boolean;
  /** forward's arguments besides self: all of them, and those without a default. */
  readonly arity: number;
  readonly required: number;
  /** forward's schema, for error messages. */
  readonly signature: string;

  /** Loads `path` with every tensor of the archive on `device`; libtorch's error as it is (the caller names the file). */
  constructor(readonly path: string, device = 'cpu') {
    super();
    this.#handle = native.jitLoad(path, device);
    const info = native.jitInfo(this.#handle);
    for (const [name, h] of info.parameters) this.#given.set(name, this.param(name, new Tensor(h)));
    for (const [name, h] of info.buffers) this.#given.set(name, this.buffer(name, new Tensor(h)));
    this.arity = info.arity;
    this.required = info.required;
    this.signature = info.forward;
    this.#mode = info.training;
    this.training = info.training;
  }

  /** Puts the current tensors and train/eval mode into the TorchScript module. */
  #sync(): void {
    for (const [kind, list] of [['parameter', this.namedParameters()], ['buffer', this.namedBuffers()]] as const) {
      for (const [name, t] of list) {
        if (this.#given.get(name) === t) continue;
        native.jitSetTensor(this.#handle, name, t.handle, kind === 'buffer');
        this.#given.set(name, t);
      }
    }
    if (this.#mode !== this.training) {
      native.jitTrain(this.#handle, this.training);
      this.#mode = this.training;
    }
  }

  forward(...inputs: Tensor[]): Tensor {
    this.#sync();
    return new Tensor(native.jitForward(this.#handle, inputs.map((t) => t.handle)));
  }

  /** Writes the module with its current weights as torch.jit.save does (atomically: a temp file, then renamed). */
  save(path: string): void {
    this.#sync();
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      native.jitSave(this.#handle, tmp);
      renameSync(tmp, path);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}
