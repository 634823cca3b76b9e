/**
 * `--encoder MODALITY=torchscript:PATH`: a PyTorch encoder saved with torch.jit.save, trained
 * inside mmgap. Its forward takes the modality's batch [N, ...shape] float32 (and, for sequences
 * and frames, `lengths` [N] int64 as a second argument when it declares one) and returns features
 * [N, D]; D is read off one forward pass at load. Its parameters and buffers keep the names of its
 * `state_dict()` under the encoder's prefix (`encoder_<modality>.`), and the run's selected
 * checkpoints are also written back as TorchScript files (`checkpoints/best.encoder_<modality>.pt`)
 * that `torch.jit.load` reads with the trained weights.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { full, isOutOfMemoryError, noGrad, zeros, type Tensor } from '../torch/index.js';
import { ScriptModule } from '../torch/jit.js';
import { modalityKind, type ModalitySpec } from '../data/types.js';
import type { Encoder } from './encoders.js';
import type { Module } from '../torch/nn/module.js';

/** A libtorch error as one line: the last line of the interpreter's message is the error itself. */
function lastLine(e: unknown): string {
  const lines = (e instanceof Error ? e.message : String(e)).split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'unknown error';
}

export class TorchScriptEncoder extends ScriptModule implements Encoder {
  readonly featureDim: number;
  readonly honoursMask: boolean;
  /** What the modality gives forward, for error messages. */
  readonly #expects: string;

  constructor(file: string, readonly modality: Pick<ModalitySpec, 'name' | 'shape'>, device = 'cpu') {
    const path = resolve(file);
    // (a run's config names the file; eval, diagnose and purify load it again from there)
    if (!existsSync(path)) throw new Error(`torchscript encoder ${path} (modality "${modality.name}") does not exist; relative paths start in the working directory`);
    try {
      super(path, device);
    } catch (e) {
      throw new Error(`torchscript encoder ${path} (modality "${modality.name}"): not a TorchScript module that loads on ${device} (${lastLine(e)}); ` +
        'save one with torch.jit.save(torch.jit.script(model), PATH) or torch.jit.trace');
    }
    const ragged = ['sequence', 'frames'].includes(modalityKind(modality.shape));
    this.honoursMask = ragged && this.arity >= 2;
    this.#expects = `the modality "${modality.name}" gives forward a batch [N, ${modality.shape.join(', ')}] float32 on ${device}` +
      `${this.honoursMask ? ' and lengths [N] int64' : ''}, and takes features [N, D] back; its forward is ${this.signature}`;
    if (this.arity < 1 || this.required > (this.honoursMask ? 2 : 1)) {
      throw new Error(`torchscript encoder ${path}: forward must take the batch${ragged ? ' (and optionally lengths [N] int64)' : ''} and nothing else: ${this.#expects}`);
    }
    // D from one eval-mode pass over two zero samples (BatchNorm has no statistics of one sample).
    const training = this.training;
    this.training = false;
    const dims = noGrad(() => {
      const x = zeros([2, ...modality.shape], { device: device as never });
      const out = this.encode(x, this.honoursMask ? full([2], modality.shape[0] as number, { dtype: 'int64', device: device as never }) : undefined);
      const shape = out.shape;
      out.dispose();
      x.dispose();
      return shape;
    });
    this.training = training;
    this.featureDim = dims[1] as number;
  }

  /** forward with the errors of the interpreter and of the output's shape worded for the user. */
  encode(x: Tensor, lengths?: Tensor): Tensor {
    let out: Tensor;
    try {
      out = super.forward(...(this.honoursMask ? [x, lengths ?? full([x.shape[0] as number], x.shape[1] as number, { dtype: 'int64', device: x.device as never })] : [x]));
    } catch (e) {
      // Out of memory is the batch's size, not the module's fault: the trainer words it (src/train/memory.ts).
      if (isOutOfMemoryError(e)) throw e;
      throw new Error(`torchscript encoder ${this.path}: forward failed on [${x.shape.join(', ')}] ${x.dtype} (${lastLine(e)}); ${this.#expects}`);
    }
    const s = out.shape;
    if (s.length !== 2 || s[0] !== x.shape[0]) {
      throw new Error(`torchscript encoder ${this.path}: forward returned [${s.join(', ')}] for a batch of ${x.shape[0]}, not features [N, D]; ${this.#expects}`);
    }
    return out;
  }

  override forward(x: Tensor, lengths?: Tensor): Tensor { return this.encode(x, lengths); }
}

/**
 * The TorchScript files a checkpoint of `model` comes with: each TorchScript encoder written with
 * its current weights, named `encoder_<modality>.pt`.
 */
export function scriptedFiles(model: Module): { file: string; write(path: string): void }[] {
  return [...model.namedModules()].filter((e): e is [string, TorchScriptEncoder] => e[1] instanceof TorchScriptEncoder)
    .map(([name, enc]) => ({ file: `${name}.pt`, write: (path: string) => enc.save(path) }));
}
