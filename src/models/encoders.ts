/**
 * Encoders: input [N, ...shape] -> features [N, D], one family per modality kind (vector,
 * sequence, image, frames). For sequences and frames padded to a common length, `lengths` [N]
 * (int64) gives each sample's valid steps; an encoder that honours it computes the same features
 * as on the unpadded sample.
 */
import { arange, nn, ops, zeros, type Tensor } from '../torch/index.js';

export interface Encoder extends nn.Module {
  readonly featureDim: number;
  /** Whether `forward` honours `lengths`; one that does not must be given unpadded or fixed-length input. */
  readonly honoursMask: boolean;
  forward(x: Tensor, lengths?: Tensor): Tensor;
}

/** [N, T] float mask of the valid steps (1) and the padding (0); all ones without lengths. */
function stepMask(t: number, lengths: Tensor | undefined, like: Tensor): Tensor {
  if (!lengths) return ops.ones_like(like.select(2, 0));
  return arange(0, t, 1, { device: like.device as never }).unsqueeze(0).lt(lengths.unsqueeze(1)).to(like.dtype);
}

/** Masked mean and max over time of [N, T, C] -> [N, 2C]; padded steps count in neither. */
function poolSteps(h: Tensor, mask: Tensor): Tensor {
  const m = mask.unsqueeze(2);
  const mean = h.mul(m).sum(1).div(m.sum(1).clamp(1));
  const [max] = ops.masked_fill(h, m.eq(0), -Infinity).max(1);
  return ops.cat([mean, max], 1);
}

/** Clip-level vectors [N, D]: a two-layer perceptron. */
export class VectorMLP extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly honoursMask = false;
  readonly body: nn.Sequential;
  constructor(inDim: number, width = 16) {
    super();
    const h = 8 * width;
    this.body = this.module('body', new nn.Sequential(new nn.Linear(inDim, h), new nn.LayerNorm(h), new nn.ReLU(), new nn.Linear(h, h), new nn.ReLU()));
    this.featureDim = h;
  }
  forward(x: Tensor): Tensor { return this.body.forward(x); }
}

/**
 * Sequences [N, T, D]: a per-step projection, three residual 1-D convolution blocks (kernel 5,
 * dilations 1, 2, 4: a receptive field of 29 steps) normalised per step (LayerNorm, so padding
 * never enters a statistic), then mean and max pooling over the valid steps. Padded steps are
 * zeroed after every block, which is exactly the zero padding the convolution sees at the end
 * of an unpadded sequence: valid steps come out as without padding.
 */
export class SequenceCNN extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly honoursMask = true;
  readonly proj: nn.Linear;
  readonly convs: nn.Conv1d[];
  readonly norms: nn.LayerNorm[];
  constructor(inDim: number, width = 16) {
    super();
    const c = 4 * width;
    this.proj = this.module('proj', new nn.Linear(inDim, c));
    this.convs = [1, 2, 4].map((d, i) => this.module(`conv${i}`, new nn.Conv1d(c, c, 5, { padding: 2 * d, dilation: d })));
    this.norms = this.convs.map((_, i) => this.module(`norm${i}`, new nn.LayerNorm(c)));
    this.featureDim = 2 * c;
  }
  forward(x: Tensor, lengths?: Tensor): Tensor {
    const t = x.shape[1] as number;
    const mask = stepMask(t, lengths, x);
    const m = mask.unsqueeze(2);
    let h = this.proj.forward(x).mul(m);
    this.convs.forEach((conv, i) => {
      const y = conv.forward(h.transpose(1, 2)).transpose(1, 2);
      h = h.add(this.norms[i]!.forward(y).relu()).mul(m);
    });
    return poolSteps(h, mask);
  }
}

/**
 * Sequences [N, T, D]: a one-layer GRU; features are its state after the last valid step and
 * the mean of its outputs over the valid steps. A forward GRU's outputs up to step t do not
 * depend on later (padded) steps, so both equal those of the unpadded sequence.
 */
export class SequenceGRU extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly honoursMask = true;
  readonly gru: nn.GRU;
  constructor(inDim: number, width = 16) {
    super();
    const h = 4 * width;
    this.gru = this.module('gru', new nn.GRU(inDim, h));
    this.featureDim = 2 * h;
  }
  forward(x: Tensor, lengths?: Tensor): Tensor {
    const [n, t] = x.shape as [number, number, number];
    const out = this.gru.forward(x);
    const mask = stepMask(t, lengths, x).unsqueeze(2);
    const mean = out.mul(mask).sum(1).div(mask.sum(1).clamp(1));
    const lastIndex = (lengths ?? ops.full([n], t, 'int64', null, x.device as never, null)).sub(1).clamp(0);
    const last = out.gather(1, lastIndex.view([n, 1, 1]).expand([n, 1, out.shape[2] as number])).squeeze(1);
    return ops.cat([last, mean], 1);
  }
}

/**
 * A small CNN sized for avdigits on 2 cores: three conv-BN-ReLU stages (the first two
 * max-pooled), then average pooling to a `grid` x `grid` map, flattened. Keeping a coarse grid
 * instead of one global average matters for spectrograms, where position is frequency and time.
 */
export class SmallCNN extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly honoursMask = false;
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
  readonly honoursMask = false;
  readonly net: nn.ResNet18;
  constructor(inChannels: number) {
    super();
    this.net = this.module('net', new nn.ResNet18({ inChannels }));
  }
  forward(x: Tensor): Tensor { return this.net.forward(x); }
}

/**
 * Frames [N, T, C, H, W] through an image encoder one by one, features averaged over time. With
 * lengths, only the valid frames are encoded (padding frames never reach BatchNorm) and each
 * sample's features are the mean over its own frames.
 */
function encodeFrames(x: Tensor, lengths: Tensor | undefined, featureDim: number, encode: (frames: Tensor) => Tensor): Tensor {
  const [n, t, ...rest] = x.shape as [number, number, ...number[]];
  const flat = x.reshape([n * t, ...rest]);
  if (!lengths) return encode(flat).reshape([n, t, featureDim]).mean(1);
  const valid = stepMask(t, lengths, x.flatten(2)).flatten().gt(0);
  const frameIndex = ops.nonzero(valid).squeeze(1);
  const owner = ops.div(frameIndex, t, 'floor');
  const f = encode(flat.indexSelect(0, frameIndex));
  const sums = ops.index_add(zeros([n, featureDim], { dtype: f.dtype, device: f.device as never }), 0, owner, f);
  return sums.div(lengths.clamp(1).unsqueeze(1).to(f.dtype));
}

/** The small CNN on T frames per sample ([N, T, C, H, W]), 1- or 3-channel, pooled over the valid frames. */
export class FrameSmallCNN extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly honoursMask = true;
  readonly cnn: SmallCNN;
  constructor(inChannels: number, width = 16) {
    super();
    this.cnn = this.module('cnn', new SmallCNN(inChannels, width));
    this.featureDim = this.cnn.featureDim;
  }
  forward(x: Tensor, lengths?: Tensor): Tensor { return encodeFrames(x, lengths, this.featureDim, (f) => this.cnn.forward(f)); }
}

/** ResNet18 on T frames per sample ([N, T, C, H, W]): frames encoded one by one, features averaged over the valid frames. */
export class FrameResNet18 extends nn.Module implements Encoder {
  readonly featureDim = 512;
  readonly honoursMask = true;
  readonly net: nn.ResNet18;
  constructor(inChannels = 3) {
    super();
    this.net = this.module('net', new nn.ResNet18({ inChannels }));
  }
  forward(x: Tensor, lengths?: Tensor): Tensor { return encodeFrames(x, lengths, this.featureDim, (f) => this.net.forward(f)); }
}

/**
 * Frames [N, T, C, H, W] in order: each valid frame through an image encoder, then the frames'
 * features [N, T, F] through a sequence encoder (seq-cnn or gru) that honours the lengths, so the
 * features depend on the frames' order, which pooling over time discards. Padding frames never
 * reach the image encoder (nor its BatchNorm); their feature rows are zeros the sequence encoder masks.
 */
export class OrderedFrames extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly honoursMask = true;
  constructor(readonly frame: Encoder, readonly steps: SequenceCNN | SequenceGRU) {
    super();
    this.module('frame', frame);
    this.module('steps', steps);
    this.featureDim = steps.featureDim;
  }
  forward(x: Tensor, lengths?: Tensor): Tensor {
    const [n, t, ...rest] = x.shape as [number, number, ...number[]];
    const flat = x.reshape([n * t, ...rest]);
    const f = this.frame.featureDim;
    if (!lengths) return this.steps.forward(this.frame.forward(flat).reshape([n, t, f]));
    const frameIndex = ops.nonzero(stepMask(t, lengths, x.flatten(2)).flatten().gt(0)).squeeze(1);
    const encoded = this.frame.forward(flat.indexSelect(0, frameIndex));
    const rows = ops.index_add(zeros([n * t, f], { dtype: encoded.dtype, device: encoded.device as never }), 0, frameIndex, encoded);
    return this.steps.forward(rows.reshape([n, t, f]), lengths);
  }
}
