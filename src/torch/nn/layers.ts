/** The standard layers. Each reads its tensors through `tensor(name)` so `Module.to` can replace them. */
import { Module } from './module.js';
import { Tensor, zeros, ones, tensor } from '../tensor.js';
import * as F from './functional.js';
import { defaultLayerInit } from './init.js';
import { noGrad } from '../autograd.js';
import * as ops from '../ops.generated.js';
import { uniform_ } from './init.js';

export class Linear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly hasBias = true) {
    super();
    const w = this.param('weight', zeros([outFeatures, inFeatures]));
    const b = hasBias ? this.param('bias', zeros([outFeatures])) : null;
    defaultLayerInit(w, b);
  }
  get weight(): Tensor { return this.tensor('weight'); }
  get bias(): Tensor | null { return this.hasBias ? this.tensor('bias') : null; }
  forward(x: Tensor): Tensor { return F.linear(x, this.weight, this.bias); }
}

export interface Conv2dOptions { stride?: number; padding?: number; dilation?: number; groups?: number; bias?: boolean }

export class Conv2d extends Module {
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  readonly hasBias: boolean;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, opts: Conv2dOptions = {}) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    this.hasBias = opts.bias ?? true;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(`Conv2d: channels (${inChannels} -> ${outChannels}) must be divisible by groups=${this.groups}`);
    }
    const w = this.param('weight', zeros([outChannels, inChannels / this.groups, kernelSize, kernelSize]));
    const b = this.hasBias ? this.param('bias', zeros([outChannels])) : null;
    defaultLayerInit(w, b);
  }
  get weight(): Tensor { return this.tensor('weight'); }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.hasBias ? this.tensor('bias') : null,
      { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

/** A 1-D convolution over [N, C, T] with "same" zero padding for odd kernels when `padding` is (k - 1) / 2. */
export class Conv1d extends Module {
  readonly padding: number;
  readonly dilation: number;
  readonly hasBias: boolean;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, opts: { padding?: number; dilation?: number; bias?: boolean } = {}) {
    super();
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.hasBias = opts.bias ?? true;
    const w = this.param('weight', zeros([outChannels, inChannels, kernelSize]));
    const b = this.hasBias ? this.param('bias', zeros([outChannels])) : null;
    defaultLayerInit(w, b);
  }
  get weight(): Tensor { return this.tensor('weight'); }
  forward(x: Tensor): Tensor {
    return ops.conv1d(x, this.weight, this.hasBias ? this.tensor('bias') : null, [1], [this.padding], [this.dilation], 1);
  }
}

/** Layer normalisation over the last `normalizedShape` dimensions, with a learnt scale and shift (PyTorch's defaults). */
export class LayerNorm extends Module {
  constructor(readonly normalizedShape: number, readonly eps = 1e-5) {
    super();
    this.param('weight', ones([normalizedShape]));
    this.param('bias', zeros([normalizedShape]));
  }
  forward(x: Tensor): Tensor { return ops.layer_norm(x, [this.normalizedShape], this.tensor('weight'), this.tensor('bias'), this.eps, true); }
}

/**
 * A batch-first GRU (torch.nn.GRU with batch_first=True): parameters named and initialised as
 * PyTorch's (weight_ih_l0 [3H, I], weight_hh_l0 [3H, H], biases [3H]; uniform in ±1/sqrt(H)),
 * so its state dict loads either way. forward: [N, T, I] -> outputs [N, T, H] of the last layer.
 */
export class GRU extends Module {
  constructor(readonly inputSize: number, readonly hiddenSize: number, readonly numLayers = 1) {
    super();
    const bound = 1 / Math.sqrt(hiddenSize);
    for (let l = 0; l < numLayers; l++) {
      const inSize = l === 0 ? inputSize : hiddenSize;
      for (const [name, shape] of [[`weight_ih_l${l}`, [3 * hiddenSize, inSize]], [`weight_hh_l${l}`, [3 * hiddenSize, hiddenSize]], [`bias_ih_l${l}`, [3 * hiddenSize]], [`bias_hh_l${l}`, [3 * hiddenSize]]] as const) {
        uniform_(this.param(name, zeros([...shape])), -bound, bound);
      }
    }
  }
  forward(x: Tensor): Tensor {
    const params: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) for (const n of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) params.push(this.tensor(`${n}_l${l}`));
    const h0 = zeros([this.numLayers, x.shape[0] as number, this.hiddenSize], { dtype: x.dtype, device: x.device as never });
    const [out] = ops.gru(x, h0, params, true, this.numLayers, 0, this.training, false, true);
    return out;
  }
}

/** A process group as BatchNorm needs it: the ranks whose global batch gives the statistics. */
export type BatchNormGroup = Parameters<typeof F.syncBatchNorm>[7];

export class BatchNorm2d extends Module {
  /**
   * When set (SyncBatchNorm, convertSyncBatchNorm) and the group has more than one rank,
   * training-mode statistics are over the global batch of all its ranks; null: this process's batch.
   */
  syncGroup: BatchNormGroup | null = null;
  constructor(readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super();
    this.param('weight', ones([numFeatures]));
    this.param('bias', zeros([numFeatures]));
    this.buffer('running_mean', zeros([numFeatures]));
    this.buffer('running_var', ones([numFeatures]));
    this.buffer('num_batches_tracked', tensor(new BigInt64Array(1), []));
  }
  get weight(): Tensor { return this.tensor('weight'); }
  get bias(): Tensor { return this.tensor('bias'); }
  forward(x: Tensor): Tensor {
    if (this.training) noGrad(() => this.tensor('num_batches_tracked').add_(1));
    if (this.training && this.syncGroup && this.syncGroup.worldSize > 1) {
      return F.syncBatchNorm(x, this.tensor('running_mean'), this.tensor('running_var'), this.tensor('weight'), this.tensor('bias'), this.momentum, this.eps, this.syncGroup);
    }
    return F.batchNorm(x, this.tensor('running_mean'), this.tensor('running_var'), this.tensor('weight'), this.tensor('bias'),
      this.training, this.momentum, this.eps);
  }
}

/**
 * torch.nn.SyncBatchNorm: BatchNorm over [N, C, ...] whose training statistics are those of the
 * global batch of every rank of `group` (F.syncBatchNorm); in eval mode, or with one rank, it is
 * BatchNorm2d. Same parameters, buffers and state-dict names as BatchNorm2d.
 */
export class SyncBatchNorm extends BatchNorm2d {
  constructor(numFeatures: number, group: BatchNormGroup, eps = 1e-5, momentum = 0.1) {
    super(numFeatures, eps, momentum);
    this.syncGroup = group;
  }
}

/**
 * Makes every BatchNorm of `module` synchronised over `group`, as
 * torch.nn.SyncBatchNorm.convert_sync_batchnorm, but in place (the layers stay where the model
 * holds them; names, parameters and buffers are unchanged). Returns how many layers it changed.
 */
export function convertSyncBatchNorm(module: Module, group: BatchNormGroup): number {
  let n = 0;
  for (const [, m] of module.namedModules()) {
    if (m instanceof BatchNorm2d) {
      m.syncGroup = group;
      n++;
    }
  }
  return n;
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor { return F.dropout(x, this.p, this.training); }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return F.relu(x); }
}

/** A layer in a Sequential: any module with a one-tensor forward. */
export interface Layer extends Module { forward(x: Tensor): Tensor }

export class Sequential extends Module {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers.map((l, i) => this.module(String(i), l));
  }
  forward(x: Tensor): Tensor { return pipe(x, this.layers); }
}

/**
 * Applies `steps` (layers or functions) in turn, releasing each intermediate's handle as soon as the
 * next step has used it, as PyTorch's `out = f(out)` drops the old tensor: what backward needs,
 * autograd keeps and frees once used; a handle would hold it to the end of the training step.
 * Neither `x` nor the result is released.
 */
export function pipe(x: Tensor, steps: readonly (Layer | ((t: Tensor) => Tensor))[]): Tensor {
  let y = x;
  for (const s of steps) {
    const prev = y;
    y = typeof s === 'function' ? s(prev) : s.forward(prev);
    if (prev !== x && prev !== y) prev.dispose();
  }
  return y;
}
