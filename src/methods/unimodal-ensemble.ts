/**
 * Unimodal ensemble (UME; Du et al., "On Uni-Modal Feature Learning in Supervised Multi-Modal
 * Learning", ICML 2023): every modality is trained alone, and the prediction averages the
 * modalities' log-probabilities. It shows the headroom that joint training leaves when it
 * under-trains the weak modality: where the modalities are informative alone and err
 * differently, the ensemble beats the fused head.
 *
 * Where it departs from the reference: the encoders are trained in one model, each by the
 * cross-entropy of its own unimodal logits (sum over modalities), rather than as separate runs
 * with their own early stopping. With concat fusion the heads share the bias b / M, the only
 * coupling between the modalities; the epoch is selected on validation accuracy of the ensemble.
 */
import { nn, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';

export const unimodalEnsemble = defineMethod({
  name: 'unimodal-ensemble',
  summary: 'UME (Du et al. 2023): each modality trained alone, predictions averaged in log space',
  options: {},
  build: () => ({
    name: 'unimodal-ensemble',
    loss(out, batch, ctx) {
      const ces = ctx.modalities.map((m) => nn.F.crossEntropy(out.unimodal[m] as Tensor, batch.labels));
      return { loss: ces.reduce((a, b) => a.add(b)), logs: Object.fromEntries(ctx.modalities.map((m, i) => [`ce_${m}`, (ces[i] as Tensor).item()])) };
    },
    fuse: (out, ctx) => ctx.modalities.map((m) => nn.F.logSoftmax(out.unimodal[m] as Tensor, 1)).reduce((a, b) => a.add(b)).div(ctx.modalities.length),
  }),
});
