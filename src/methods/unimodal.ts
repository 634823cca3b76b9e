/**
 * Unimodal training: cross-entropy of one modality's unimodal logits only, so the other encoder
 * gets no gradient. Its test accuracy is that modality's accuracy: the reference for "how good can
 * this modality alone be" that imbalance methods try to approach.
 */
import { nn } from '../torch/index.js';
import { checkOptionKeys, type Method, type MethodFactory } from './method.js';

export const unimodal: MethodFactory = {
  name: 'unimodal',
  summary: 'cross-entropy of one modality alone (option modality: e.g. audio)',
  defaults: { modality: 'audio' },
  create(opts): Method {
    checkOptionKeys('unimodal', opts, this.defaults);
    const modality = opts.modality ?? 'audio';
    if (typeof modality !== 'string') throw new Error(`unimodal: option modality must be a modality name, got ${JSON.stringify(modality)}`);
    return {
      name: 'unimodal',
      loss: (out, batch, ctx) => {
        const z = out.unimodal[modality];
        if (!z) throw new Error(`unimodal: option modality "${modality}" is not one of ${ctx.modalities.join(', ')}`);
        return { loss: nn.F.crossEntropy(z, batch.labels) };
      },
    };
  },
};
