/**
 * gap-loss, the control of gmm-adaptive (issue #29): gmm-adaptive's loss with the GMM taken out,
 * every sample treated as balanced (gamma = 0):
 *
 *   (1 + beta) mean_i CE(z_i, y_i) + lambdaGap mean_i gap_i  (+ lambdaUni mean_i sum_m CE(z^m_i, y_i))
 *
 * with the same gap term (gmm-adaptive.ts, gapPenalty: the log-space cross-entropy difference
 * between the weak and the dominant modality by default, the dominant side detached), the same
 * defaults and the same shared warm-up. It is exactly what gmm-adaptive trains with whenever its
 * BIC guard declares no imbalanced subgroup, so gmm-adaptive against this row measures what the
 * per-sample GMM weighting adds.
 */
import { nn } from '../torch/index.js';
import type { Values } from '../settings.js';
import { defineMethod } from './method.js';
import { GAP_OPTIONS, gapPenalty, unimodalTerm } from './gmm-adaptive.js';

export type GapLossOptions = Values<typeof GAP_OPTIONS>;

export const gapLoss = defineMethod({
  name: 'gap-loss',
  summary: 'control of gmm-adaptive: its log-space gap term on every sample, no GMM, no per-sample weights',
  options: GAP_OPTIONS,
  sharedWarmup: true,
  build: (o) => ({
    name: 'gap-loss',
    loss(out, batch, ctx) {
      const fusion = nn.F.crossEntropy(out.fused, batch.labels).mul(1 + o.beta);
      const gap = gapPenalty(out, batch.labels, ctx.modalities, o).penalty.mean().mul(o.lambdaGap);
      const loss = fusion.add(gap);
      return { loss: o.lambdaUni > 0 ? loss.add(unimodalTerm(out, batch.labels, ctx.modalities, o.lambdaUni)) : loss, logs: { fusion: fusion.item(), gap: gap.item() } };
    },
  }),
});
