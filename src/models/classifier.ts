/** The multimodal classifier: one encoder per modality and a fusion, honouring the model contract. */
import { nn, type Tensor } from '../torch/index.js';
import type { ModelOutput, MultimodalModel } from './types.js';
import { FrameResNet18, ImageResNet18, SmallCNN, type Encoder } from './encoders.js';
import { makeFusion, type Fusion } from './fusion.js';
import type { EncoderKind, FusionKind } from './kinds.js';

export class MultimodalClassifier extends nn.Module implements MultimodalModel {
  readonly #encoders = new Map<string, Encoder>();
  readonly fusion: Fusion;
  constructor(readonly modalities: string[], encoders: Encoder[], fusion: FusionKind, readonly numClasses: number) {
    super();
    if (encoders.length !== modalities.length) throw new Error(`${modalities.length} modalities but ${encoders.length} encoders`);
    modalities.forEach((m, i) => this.#encoders.set(m, this.module(`encoder_${m}`, encoders[i] as Encoder)));
    this.fusion = this.module('fusion', makeFusion(fusion, modalities, encoders.map((e) => e.featureDim), numClasses));
  }

  forward(inputs: Record<string, Tensor>): ModelOutput {
    const features: Record<string, Tensor> = {};
    for (const [m, enc] of this.#encoders) {
      const x = inputs[m];
      if (!x) throw new Error(`model input has no "${m}" (got ${Object.keys(inputs).join(', ')})`);
      features[m] = enc.forward(x);
    }
    return { ...this.fusion.forward(features), features };
  }

  encoder(modality: string): Encoder {
    const e = this.#encoders.get(modality);
    if (!e) throw new Error(`no encoder for modality "${modality}" (have ${this.modalities.join(', ')})`);
    return e;
  }

  headParameters(): Tensor[] { return this.fusion.parameters(); }
}

export { ENCODERS, type EncoderKind } from './kinds.js';

export interface ModelConfig {
  encoder: EncoderKind;
  fusion: FusionKind;
  /** Width of the small CNN (channels of its first stage). */
  width: number;
}

/**
 * Builds the classifier for a dataset's modalities: shape [C, H, W] gets an image encoder,
 * [T, C, H, W] a frame encoder (ResNet18 only: frames are what the peers' visual encoders see).
 */
export function buildModel(modalities: { name: string; shape: number[] }[], numClasses: number, cfg: ModelConfig): MultimodalClassifier {
  const encoders = modalities.map(({ name, shape }) => {
    if (shape.length === 3) {
      return cfg.encoder === 'resnet18' ? new ImageResNet18(shape[0] as number) : new SmallCNN(shape[0] as number, cfg.width);
    }
    if (shape.length === 4) {
      if (cfg.encoder !== 'resnet18') throw new Error(`modality "${name}" has frames [${shape.join(', ')}]; use --encoder resnet18 for frame inputs`);
      return new FrameResNet18(shape[1] as number);
    }
    throw new Error(`modality "${name}" has shape [${shape.join(', ')}]; encoders take [C, H, W] images or [T, C, H, W] frames`);
  });
  return new MultimodalClassifier(modalities.map((m) => m.name), encoders, cfg.fusion, numClasses);
}
