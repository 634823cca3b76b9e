/** The standard layers. Each reads its tensors through `tensor(name)` so `Module.to` can replace them. */
import { Module } from './module.js';
import { Tensor, zeros, ones, tensor } from '../tensor.js';
import * as F from './functional.js';
import { defaultLayerInit } from './init.js';
import { noGrad } from '../autograd.js';

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

export class BatchNorm2d extends Module {
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
    return F.batchNorm(x, this.tensor('running_mean'), this.tensor('running_var'), this.tensor('weight'), this.tensor('bias'),
      this.training, this.momentum, this.eps);
  }
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
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}
