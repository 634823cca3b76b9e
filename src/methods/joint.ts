/** Joint training: cross-entropy of the fused logits. The baseline every other method is measured against. */
import { nn } from '../torch/index.js';
import { defineMethod } from './method.js';

export const joint = defineMethod({
  name: 'joint',
  summary: 'cross-entropy of the fused logits (the plain baseline)',
  options: {},
  build: () => ({
    name: 'joint',
    loss: (out, batch) => ({ loss: nn.F.crossEntropy(out.fused, batch.labels) }),
  }),
});
