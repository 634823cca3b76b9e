/**
 * OGM-GE: On-the-fly Gradient Modulation with Generalization Enhancement (Peng et al., CVPR 2022,
 * "Balanced Multimodal Learning via On-the-fly Gradient Modulation"; reference code
 * github.com/GeWu-Lab/OGM-GE_CVPR2022, main.py). The loss is the fused cross-entropy; after its
 * backward, per batch, on-the-fly gradient modulation (OGM):
 *   s_m   = sum_i softmax(z^m_i)[y_i]                 score of modality m (z^m: the model's unimodal logits)
 *   rho_m = s_m / max_{m' != m} s_m'                  discrepancy ratio (two modalities: s_a / s_v and its inverse)
 *   k_m   = 1 - tanh(alpha * rho_m) if rho_m > 1, else 1          (Eq. 10)
 * and the gradients of modality m's encoder are multiplied by k_m, so the dominant modality slows
 * down. Generalisation enhancement (GE) then adds Gaussian noise N(0, sigma^2) to each modulated
 * gradient, sigma the standard deviation of that parameter's unscaled gradient (plus 1e-8, as the
 * reference).
 *
 * Where the paper leaves room, we follow the reference code:
 * - `params: conv` modulates only 4-D gradients (convolution kernels) of each encoder; BatchNorm
 *   parameters and biases keep their plain gradient. `all` modulates every encoder parameter (the
 *   paper's update rule, written for the whole encoder).
 * - GE noise goes to every modulated parameter of every encoder inside the window, the weak
 *   modality's (k = 1) included.
 * - The window is modulationStarts <= epoch <= modulationEnds (0-based, both ends inclusive);
 *   outside it the gradients are untouched (k = 1, no noise).
 * - `form: paper` is Eq. 10, which jumps from 1 to 1 - tanh(alpha) as rho crosses 1; `continuous`
 *   uses 1 - tanh(alpha * (rho - 1)) instead.
 * - With more than two modalities only the single strongest one has rho > 1 (ratio to the strongest other).
 *
 * Where we depart from the reference code:
 * - The GE noise comes from a generator of its own, seeded with (run seed, step, draw) (the
 *   StepContext's randnLike), not from the global stream that dropout also draws from: the same
 *   noise on every rank of a data-parallel run and in one process on the same global batch.
 * - Data-parallel: s_m is summed over the global batch (each rank's slice, summed over the ranks),
 *   and the gradients it scales are already averaged over the ranks, so every rank applies the
 *   1-process update of the global batch.
 */
import { nn, noGrad, ops, tidy, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';
import { EpochMeans, readScalars, trueClassScore, unimodalLogits } from './balance-utils.js';

const NAME = 'ogm-ge';
const FORMS = ['paper', 'continuous'] as const;
export type OgmForm = (typeof FORMS)[number];
const PARAMS = ['conv', 'all'] as const;

export interface OgmCoefficients {
  /** rho_m: the modality's score over the strongest other modality's. */
  ratio: Record<string, number>;
  /** k_m: the factor applied to the modality's encoder gradients. */
  coeff: Record<string, number>;
}

/** Discrepancy ratios and modulation coefficients (Eq. 10) from the per-batch modality scores. */
export function ogmCoefficients(scores: Record<string, number>, alpha: number, form: OgmForm = 'paper'): OgmCoefficients {
  const names = Object.keys(scores);
  if (names.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${names.join(', ') || 'none'}`);
  const ratio: Record<string, number> = {};
  const coeff: Record<string, number> = {};
  for (const m of names) {
    const rho = (scores[m] as number) / Math.max(...names.filter((o) => o !== m).map((o) => scores[o] as number));
    ratio[m] = rho;
    coeff[m] = rho > 1 ? 1 - Math.tanh(alpha * (form === 'paper' ? rho : rho - 1)) : 1;
  }
  return { ratio, coeff };
}

/** g <- k * g (+ N(0, std(g)^2) noise with GE, standard normals from `randn`), in place on each parameter's gradient. */
function modulate(params: Tensor[], k: number, randn: ((like: Tensor) => Tensor) | null): void {
  tidy(() => noGrad(() => {
    for (const p of params) {
      const g = p.grad;
      if (!g) continue;
      // The noise scale is the unscaled gradient's standard deviation (unbiased, as torch.std).
      const noise = randn ? randn(g).mul(g.numel > 1 ? ops.std(g).add(1e-8) : 1e-8) : null;
      if (k !== 1) g.mul_(k);
      if (noise) g.add_(noise);
    }
  }));
}

export const ogmGe = defineMethod({
  name: NAME,
  summary: 'OGM-GE (Peng et al. 2022): slow the dominant encoder by 1 - tanh(alpha * rho), plus Gaussian gradient noise',
  options: {
    alpha: { type: 'number', default: 0.1, min: 0, help: 'modulation strength alpha of k = 1 - tanh(alpha * rho)' },
    modulationStarts: { type: 'number', integer: true, default: 0, min: 0, help: 'first epoch (0-based) of modulation' },
    modulationEnds: { type: 'number', integer: true, default: 50, min: 0, help: 'last epoch (0-based, inclusive) of modulation' },
    ge: { type: 'choice', choices: ['on', 'off'], default: 'on', help: 'generalisation enhancement: Gaussian noise on the modulated gradients' },
    form: { type: 'choice', choices: FORMS, default: 'paper', help: 'paper: Eq. 10 (jumps at rho = 1); continuous: 1 - tanh(alpha (rho - 1))' },
    params: { type: 'choice', choices: PARAMS, default: 'conv', help: 'conv: modulate convolution kernels only (reference code); all: every encoder parameter' },
  },
  check: (o) => (o.modulationEnds < o.modulationStarts ? `option modulationEnds (${o.modulationEnds}) must not be before modulationStarts (${o.modulationStarts})` : null),
  build({ alpha, modulationStarts: starts, modulationEnds: ends, ge, form, params: which }) {
    const enhance = ge === 'on';
    const means = new EpochMeans();

    return {
      name: NAME,
      loss: (out, batch) => ({ loss: nn.F.crossEntropy(out.fused, batch.labels) }),

      beforeStep(out, batch, ctx) {
        const local = tidy(() => readScalars(Object.fromEntries(ctx.modalities.map((m) => [m, trueClassScore(unimodalLogits(out, m, NAME), batch.labels)]))));
        // Sums over the global batch (this rank's slice's, summed over the ranks).
        const sums = ctx.allReduceSum(ctx.modalities.map((m) => local[m] as number));
        const scores = Object.fromEntries(ctx.modalities.map((m, i) => [m, sums[i] as number]));
        const { ratio, coeff } = ogmCoefficients(scores, alpha, form);
        const active = starts <= ctx.epoch && ctx.epoch <= ends;
        const logs: Record<string, number> = {};
        for (const m of ctx.modalities) {
          const k = active ? (coeff[m] as number) : 1;
          if (active) {
            const ps = ctx.model.encoder(m).parameters();
            modulate(which === 'conv' ? ps.filter((p) => p.ndim === 4) : ps, k, enhance ? ctx.randnLike : null);
          }
          logs[`ratio_${m}`] = ratio[m] as number;
          logs[`k_${m}`] = k;
        }
        means.add(logs);
        return logs;
      },

      // Epoch means of the per-step ratios and coefficients.
      endEpoch: async () => means.take(),
    };
  },
});
