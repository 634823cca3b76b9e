/** Joint training: cross-entropy of the fused logits. The baseline every other method is measured against. */
import { nn } from '../torch/index.js';
import { checkOptionKeys, type Method, type MethodFactory } from './method.js';

export const joint: MethodFactory = {
  name: 'joint',
  summary: 'cross-entropy of the fused logits (the plain baseline)',
  defaults: {},
  create(opts): Method {
    checkOptionKeys('joint', opts, this.defaults);
    return {
      name: 'joint',
      loss: (out, batch) => ({ loss: nn.F.crossEntropy(out.fused, batch.labels) }),
    };
  },
};
