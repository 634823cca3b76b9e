/** The multimodal classifier: one encoder per modality and a fusion, honouring the model contract. */
import { nn, type Tensor } from '../torch/index.js';
import type { ModelOutput, MultimodalModel } from './types.js';
import { modalityKind, type ModalitySpec } from '../data/types.js';
import { FrameResNet18, FrameSmallCNN, ImageResNet18, OrderedFrames, SequenceCNN, SequenceGRU, SmallCNN, VectorMLP, type Encoder } from './encoders.js';
import { makeFusion, type Fusion } from './fusion.js';
import { chooseEncoders, orderedFramesParts, torchscriptPath, type EncoderKind, type EncoderName, type FusionKind, type SingleEncoder } from './kinds.js';
import { TorchScriptEncoder } from './torchscript.js';

export class MultimodalClassifier extends nn.Module implements MultimodalModel {
  readonly #encoders = new Map<string, Encoder>();
  readonly fusion: Fusion;
  constructor(readonly modalities: string[], encoders: Encoder[], fusion: FusionKind, readonly numClasses: number) {
    super();
    if (encoders.length !== modalities.length) throw new Error(`${modalities.length} modalities but ${encoders.length} encoders`);
    modalities.forEach((m, i) => this.#encoders.set(m, this.module(`encoder_${m}`, encoders[i] as Encoder)));
    this.fusion = this.module('fusion', makeFusion(fusion, modalities, encoders.map((e) => e.featureDim), numClasses));
  }

  forward(inputs: Record<string, Tensor>, lengths: Record<string, Tensor> = {}): ModelOutput {
    const features: Record<string, Tensor> = {};
    for (const [m, enc] of this.#encoders) {
      const x = inputs[m];
      if (!x) throw new Error(`model input has no "${m}" (got ${Object.keys(inputs).join(', ')})`);
      features[m] = enc.forward(x, lengths[m]);
    }
    return { ...this.fusion.forward(features), features };
  }

  fuse(features: Record<string, Tensor>): Pick<ModelOutput, 'fused' | 'unimodal'> { return this.fusion.forward(features); }

  encoder(modality: string): Encoder {
    const e = this.#encoders.get(modality);
    if (!e) throw new Error(`no encoder for modality "${modality}" (have ${this.modalities.join(', ')})`);
    return e;
  }

  headParameters(): Tensor[] { return this.fusion.parameters(); }
}

export { chooseEncoders, ENCODERS, type EncoderKind, type EncoderName } from './kinds.js';

export interface ModelConfig {
  /** The `encoder` setting: auto, one encoder for all, or audio=seq-cnn,visual=small-cnn (src/models/kinds.ts). */
  encoder: string;
  fusion: FusionKind;
  /** Width of the encoders (the small CNN's first-stage channels; the others scale with it). */
  width: number;
  /** Where TorchScript encoders are loaded (every tensor of their files, constants included); default cpu. */
  device?: string;
}

/** A sequence [N, T, D] read as a one-channel image [N, 1, T, D] (how spectrogram CNNs see log-mel frames). */
class SequenceAsImage extends nn.Module implements Encoder {
  readonly featureDim: number;
  readonly honoursMask = false;
  constructor(readonly cnn: SmallCNN) {
    super();
    this.module('cnn', cnn);
    this.featureDim = cnn.featureDim;
  }
  forward(x: Tensor): Tensor { return this.cnn.forward(x.unsqueeze(1)); }
}

function makeEncoder(enc: EncoderName, modality: Pick<ModalitySpec, 'name' | 'shape'>, width: number, device: string): Encoder {
  const { shape } = modality;
  const kind = modalityKind(shape);
  const script = torchscriptPath(enc);
  if (script !== null) return new TorchScriptEncoder(script, modality, device);
  const ordered = orderedFramesParts(enc as EncoderKind);
  if (ordered) {
    const frame = ordered.frame === 'small-cnn' ? new SmallCNN(shape[1]!, width) : new ImageResNet18(shape[1]!);
    return new OrderedFrames(frame, ordered.steps === 'gru' ? new SequenceGRU(frame.featureDim, width) : new SequenceCNN(frame.featureDim, width));
  }
  switch (enc as SingleEncoder) {
    case 'mlp': return new VectorMLP(shape[0]!, width);
    case 'seq-cnn': return new SequenceCNN(shape[1]!, width);
    case 'gru': return new SequenceGRU(shape[1]!, width);
    case 'small-cnn':
      if (kind === 'frames') return new FrameSmallCNN(shape[1]!, width);
      return kind === 'sequence' ? new SequenceAsImage(new SmallCNN(1, width)) : new SmallCNN(shape[0]!, width);
    case 'resnet18': return kind === 'frames' ? new FrameResNet18(shape[1]!) : new ImageResNet18(shape[0]!);
  }
}

/**
 * Builds the classifier for a dataset's modalities, one encoder per modality by its kind
 * (chooseEncoders). A modality whose padding is masked needs an encoder that honours masks.
 */
export function buildModel(modalities: (Pick<ModalitySpec, 'name' | 'shape'> & Partial<Pick<ModalitySpec, 'length' | 'lengths'>>)[], numClasses: number, cfg: ModelConfig): MultimodalClassifier {
  const kinds = chooseEncoders(modalities, cfg.encoder);
  const encoders = modalities.map((m, i) => {
    const encoder = makeEncoder(kinds[i]!, m, cfg.width, cfg.device ?? 'cpu');
    if (m.length?.mask && !encoder.honoursMask) {
      const l = m.lengths;
      throw new Error(`modality "${m.name}" varies in length (${l ? `${l.min} to ${l.max} steps` : 'per sample'}) and is padded with a mask, which encoder ${kinds[i]} cannot honour: ` +
        `give it a fixed length (--data-opt ${m.name}.length=${l?.median ?? m.shape[0]} --data-opt ${m.name}.mask=false) or a mask-aware encoder (--encoder ${m.name}=${modalityKind(m.shape) === 'frames' ? 'small-cnn' : 'seq-cnn'}` +
        `${torchscriptPath(kinds[i]!) === null ? '' : ', or a TorchScript forward(self, x, lengths) that takes the valid steps [N] int64'})`);
    }
    return encoder;
  });
  return new MultimodalClassifier(modalities.map((m) => m.name), encoders, cfg.fusion, numClasses);
}
