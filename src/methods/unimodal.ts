/**
 * Unimodal training: cross-entropy of one modality's unimodal logits only, so the other encoder
 * gets no gradient. Its test accuracy is that modality's accuracy: the reference for "how good can
 * this modality alone be" that imbalance methods try to approach. Evaluation predicts from that
 * modality's head (the fused head's other slices are untrained).
 */
import { nn, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';

export const unimodal = defineMethod({
  name: 'unimodal',
  summary: 'cross-entropy of one modality alone',
  options: {
    modality: { type: 'string', default: 'audio', help: 'the modality to train (a modality name of the dataset, e.g. audio or visual)' },
  },
  build: ({ modality }) => {
    const logitsOf = (unimodal: Record<string, Tensor>, modalities: string[]): Tensor => {
      const z = unimodal[modality];
      if (!z) throw new Error(`unimodal: option modality "${modality}" is not one of ${modalities.join(', ')}`);
      return z;
    };
    return {
      name: 'unimodal',
      loss: (out, batch, ctx) => ({ loss: nn.F.crossEntropy(logitsOf(out.unimodal, ctx.modalities), batch.labels) }),
      fuse: (out, ctx) => logitsOf(out.unimodal, ctx.modalities),
    };
  },
});
