/**
 * The one model contract of mmgap: every fusion returns the fused logits and one set of unimodal
 * logits per modality, computed the same way for every method (docs/METHOD.md §1).
 */
import type { nn, Tensor } from '../torch/index.js';

export interface ModelOutput {
  /** Fused logits [N, C]. */
  fused: Tensor;
  /** Unimodal logits [N, C] per modality name. */
  unimodal: Record<string, Tensor>;
  /** Encoder features [N, D_m] per modality (prototype methods use them). */
  features: Record<string, Tensor>;
}

export interface MultimodalModel extends nn.Module {
  readonly modalities: string[];
  readonly numClasses: number;
  /**
   * Inputs by modality name, each [N, ...modality shape]; `lengths` [N] (int64) by modality for
   * sequences and frames whose padding is masked (the batch's valid steps per sample).
   */
  forward(inputs: Record<string, Tensor>, lengths?: Record<string, Tensor>): ModelOutput;
  /**
   * The fusion alone, on given features [N, D_m] per modality: what forward returns after the
   * encoders (methods that perturb the features: OPM drops them, CML removes a modality by zeroing it).
   */
  fuse(features: Record<string, Tensor>): Pick<ModelOutput, 'fused' | 'unimodal'>;
  /** The encoder of one modality (gradient-modulation methods scale its gradients). */
  encoder(modality: string): nn.Module;
  /** Fusion-head parameters (shared by all modalities). */
  headParameters(): Tensor[];
}
