/**
 * A rough estimate, before anything trains, of what a modality's encoder holds in activations per
 * batch (`mmgap data inspect`): the first layer's output at the batch size and the padded number
 * of steps, in fp32, times the tensors training keeps of such a layer. For the CNNs the first layer
 * is the largest (later ones are pooled), so it sets the scale of a step's memory. Engine-free.
 */
import { modalityKind, type ModalitySpec } from '../data/types.js';
import { chooseEncoders, orderedFramesParts, type EncoderKind, type SingleEncoder } from './kinds.js';

/**
 * Tensors of a first layer's output size that a training step keeps alive at once: a conv block's
 * convolution, BatchNorm and ReLU outputs (saved for backward) and one gradient of that size
 * during backward. The sequence encoders keep about as many (projection, norm, ReLU, gradient).
 */
export const KEPT_PER_LAYER = 4;

/** The first layer's channels or units per encoder at `width` (src/models/encoders.ts). */
function firstChannels(enc: EncoderKind, width: number): number {
  // frames in order: the image encoder comes first
  switch ((orderedFramesParts(enc)?.frame ?? enc) as SingleEncoder) {
    case 'mlp': return 8 * width;
    case 'seq-cnn': case 'gru': return 4 * width;
    case 'small-cnn': return width;
    case 'resnet18': return 64;
  }
}

export interface ActivationEstimate {
  encoder: EncoderKind;
  /** The first layer's output for one batch, e.g. [64, 40, 16, 60, 80] (batch, frames, channels, H, W). */
  shape: number[];
  /** How to read `shape`, e.g. "batch x frames x channels x H x W". */
  axes: string;
  /** fp32 bytes of that output. */
  layerBytes: number;
  /** KEPT_PER_LAYER times layerBytes: activations per layer in training. */
  bytes: number;
}

/**
 * The estimate per modality (in order) for `batchSize`, the `encoder` setting and `width`. The
 * padded length is the batched one (`shape[0]` of sequences and frames: the longest sample, or
 * the length option's N).
 */
export function estimateActivations(modalities: Pick<ModalitySpec, 'name' | 'shape'>[], o: { batchSize: number; encoder: string; width: number }): ActivationEstimate[] {
  const encoders = chooseEncoders(modalities, o.encoder);
  return modalities.map((m, i) => {
    const enc = encoders[i] as EncoderKind;
    const c = firstChannels(enc, o.width);
    const n = o.batchSize;
    const s = m.shape;
    // ResNet18's first convolution has stride 2.
    const half = (x: number): number => ((orderedFramesParts(enc)?.frame ?? enc) === 'resnet18' ? Math.ceil(x / 2) : x);
    let shape: number[];
    let axes: string;
    switch (modalityKind(s)) {
      case 'vector': [shape, axes] = [[n, c], 'batch x units']; break;
      case 'image': [shape, axes] = [[n, c, half(s[1]!), half(s[2]!)], 'batch x channels x H x W']; break;
      case 'frames': [shape, axes] = [[n, s[0]!, c, half(s[2]!), half(s[3]!)], 'batch x frames x channels x H x W']; break;
      case 'sequence':
        // small-cnn reads [T, D] as a one-channel T x D image
        [shape, axes] = enc === 'small-cnn' ? [[n, c, s[0]!, s[1]!], 'batch x channels x steps x D'] : [[n, s[0]!, c], 'batch x steps x units'];
        break;
    }
    const layerBytes = 4 * shape.reduce((a, b) => a * b, 1);
    return { encoder: enc, shape, axes, layerBytes, bytes: KEPT_PER_LAYER * layerBytes };
  });
}
