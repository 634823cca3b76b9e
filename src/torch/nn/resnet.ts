/**
 * ResNet18 as torchvision builds it (same layers, names and initialisation), with a configurable
 * number of input channels and an optional classifier head, so that torchvision's state dicts load
 * unchanged and audio spectrograms (1 channel) use the same network as frames (3 channels).
 */
import { Module } from './module.js';
import { BatchNorm2d, Conv2d, Linear, Sequential, pipe, type Layer } from './layers.js';
import * as F from './functional.js';
import { constant_, kaimingNormal_ } from './init.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../scope.js';

class BasicBlock extends Module implements Layer {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = this.module('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.module('bn1', new BatchNorm2d(planes));
    this.conv2 = this.module('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.module('bn2', new BatchNorm2d(planes));
    this.downsample = stride !== 1 || inPlanes !== planes
      ? this.module('downsample', new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)))
      : null;
  }
  forward(x: Tensor): Tensor {
    // The block's intermediates are released as it goes (pipe), the rest when it returns (tidy),
    // not at the end of the training step: what backward needs, autograd keeps (as in PyTorch).
    return tidy(() => {
      // In-place ReLU after BatchNorm, as torchvision (BatchNorm's backward needs its input, not its output).
      const y = pipe(x, [this.conv1, this.bn1, F.relu_, this.conv2, this.bn2]);
      return F.relu_(y.add_(this.downsample ? this.downsample.forward(x) : x));
    });
  }
}

export interface ResNet18Options {
  /** Input channels: 1 for spectrograms, 3 for RGB frames. */
  inChannels?: number;
  /** Size of the classifier head; omit for an encoder that returns 512-d pooled features. */
  numClasses?: number;
}

export class ResNet18 extends Module implements Layer {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential[];
  readonly fc: Linear | null;
  /** Width of the pooled features. */
  readonly featureDim = 512;

  constructor(opts: ResNet18Options = {}) {
    super();
    this.conv1 = this.module('conv1', new Conv2d(opts.inChannels ?? 3, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.module('bn1', new BatchNorm2d(64));
    const widths = [64, 128, 256, 512];
    let inPlanes = 64;
    this.layers = widths.map((w, i) => {
      const stride = i === 0 ? 1 : 2;
      const layer = new Sequential(new BasicBlock(inPlanes, w, stride), new BasicBlock(w, w, 1));
      inPlanes = w;
      return this.module(`layer${i + 1}`, layer);
    });
    this.fc = opts.numClasses ? this.module('fc', new Linear(512, opts.numClasses)) : null;
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) { constant_(m.weight, 1); constant_(m.bias, 0); }
    }
  }

  /** Feature maps before pooling: [N, 512, H/32, W/32]. */
  features(x: Tensor): Tensor {
    return pipe(x, [this.conv1, this.bn1, F.relu_, (t) => F.maxPool2d(t, 3, 2, 1), ...this.layers]);
  }

  /** Pooled features [N, 512], or logits [N, numClasses] with a head. */
  forward(x: Tensor): Tensor {
    return pipe(x, [(t) => this.features(t), (t) => F.adaptiveAvgPool2d(t, 1), (t) => t.flatten(1), ...(this.fc ? [this.fc] : [])]);
  }
}
