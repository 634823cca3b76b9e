/** Encoders: input [N, ...shape] -> features [N, D]. */
import { nn, type Tensor } from '../torch/index.js';

export interface Encoder extends nn.Module {
  readonly featureDim: number;
  forward(x: Tensor): Tensor;
}

/**
 * A small CNN sized for avdigits on 2 cores: three conv-BN-ReLU stages (the first two
 * max-pooled), then average pooling to a `grid` x `grid` map, flattened. Keeping a coarse grid
 * instead of one global average matters for spectrograms, where position is frequency and time.
 */
export class SmallCNN extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly body: nn.Sequential;
  constructor(inChannels: number, width = 16, readonly grid = 4) {
    super();
    const block = (cin: number, cout: number): nn.Layer[] => [new nn.Conv2d(cin, cout, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(cout), new nn.ReLU()];
    this.body = this.module('body', new nn.Sequential(...block(inChannels, width), new MaxPool(2), ...block(width, 2 * width), new MaxPool(2), ...block(2 * width, 4 * width)));
    this.featureDim = 4 * width * grid * grid;
  }
  forward(x: Tensor): Tensor { return nn.F.adaptiveAvgPool2d(this.body.forward(x), this.grid).flatten(1); }
}

class MaxPool extends nn.Module implements nn.Layer {
  constructor(readonly k: number) { super(); }
  forward(x: Tensor): Tensor { return nn.F.maxPool2d(x, this.k); }
}

/** ResNet18 on one image per sample ([N, C, H, W]), e.g. a 1-channel spectrogram. */
export class ImageResNet18 extends nn.Module implements Encoder {
  readonly featureDim = 512;
  readonly net: nn.ResNet18;
  constructor(inChannels: number) {
    super();
    this.net = this.module('net', new nn.ResNet18({ inChannels }));
  }
  forward(x: Tensor): Tensor { return this.net.forward(x); }
}

/** ResNet18 on T frames per sample ([N, T, C, H, W]): frames encoded one by one, features averaged over time. */
export class FrameResNet18 extends nn.Module implements Encoder {
  readonly featureDim = 512;
  readonly net: nn.ResNet18;
  constructor(inChannels = 3) {
    super();
    this.net = this.module('net', new nn.ResNet18({ inChannels }));
  }
  forward(x: Tensor): Tensor {
    const [n, t, ...rest] = x.shape as [number, number, ...number[]];
    const f = this.net.forward(x.reshape([n * t, ...rest]));
    return f.reshape([n, t, this.featureDim]).mean(1);
  }
}
