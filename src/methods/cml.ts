/**
 * CML: Calibrating Multimodal Learning (Huan Ma, Qingyang Zhang, Changqing Zhang, Bingzhe Wu,
 * Huazhu Fu, Joey Tianyi Zhou & Qinghua Hu, ICML 2023, arXiv 2306.01265; BalanceBenchmark's
 * CML trainer, GeWu-Lab/BalanceBenchmark balancemm/trainer/CML_trainer.py, for the facts of its
 * training step).
 *
 * A calibrated multimodal model should not grow more confident when a modality is taken away.
 * CML regularises the ranking of confidences, Conf = the top softmax probability: with the
 * modalities removed one by one in a random order (x^(0) the full input, x^(j) with j removed),
 *   L = (1/M) [CE(z(x^(0))) + sum_{j=1}^{M-1} CE(z(x^(j)))] + lam sum_j R_j,
 *   R_j = sum_i max(0, Conf(z(x^(j)_i)) - Conf(z(x^(j-1)_i)))       (hinge: sample)
 *   R_j = max(0, sum_i [Conf(z(x^(j)_i)) - Conf(z(x^(j-1)_i))])     (hinge: batch, BalanceBenchmark)
 * A modality is removed by zeroing its encoder features before the fusion (the model's fuse): with
 * the concat fusion that is BalanceBenchmark's z - z^m + b/M, the fused logits without the
 * modality's slice and with the whole bias. Outside the window, plain fused cross-entropy.
 * Defaults: BalanceBenchmark's (lam 0.1, epochs 0-80).
 *
 * Where we depart from the references:
 * - The removal order is drawn every step (the StepContext's randnLike: the same on every rank),
 *   not shuffled once per epoch as BalanceBenchmark.
 * - `hinge: sample` (default) is the ranking constraint per sample, as the paper states it;
 *   BalanceBenchmark's conf_loss takes the hinge of the batch sum (`hinge: batch`).
 * - Data-parallel: the batch-summed terms are each rank's share of the global batch's sum (scaled
 *   by the global batch size over the rank's, so that the averaged gradient is the sum's), and the
 *   batch hinge looks at the global sum.
 */
import { nn, noGrad, ops, tidy, zeros, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';
import { readScalars } from './balance-utils.js';

const NAME = 'cml';
const HINGES = ['sample', 'batch'] as const;

/** The top softmax probability of each row (the prediction's confidence), [N]. */
export function confidence(logits: Tensor): Tensor {
  return ops.amax(logits.softmax(1), [1]);
}

/** The order in which modalities are removed, from standard normal draws (their ascending order). */
export function removalOrder(draws: ArrayLike<number>): number[] {
  return Array.from({ length: draws.length }, (_, i) => i).sort((a, b) => (draws[a] as number) - (draws[b] as number));
}

export const cml = defineMethod({
  name: NAME,
  summary: 'CML (Ma et al. 2023): confidence must not rise as modalities are removed (a ranking hinge), plus the cross-entropy of each reduced input',
  options: {
    lam: { type: 'number', default: 0.1, min: 0, help: 'weight of the confidence-ranking regularisation' },
    hinge: { type: 'choice', choices: HINGES, default: 'sample', help: 'sample: a hinge per sample (the paper); batch: the hinge of the batch sum (BalanceBenchmark)' },
    modulationStarts: { type: 'number', integer: true, default: 0, min: 0, help: 'first epoch (0-based) of the regularisation' },
    modulationEnds: { type: 'number', integer: true, default: 80, min: 0, help: 'last epoch (0-based, inclusive) of the regularisation' },
  },
  check: (o) => (o.modulationEnds < o.modulationStarts ? `option modulationEnds (${o.modulationEnds}) must not be before modulationStarts (${o.modulationStarts})` : null),
  build({ lam, hinge, modulationStarts: starts, modulationEnds: ends }) {
    return {
      name: NAME,

      loss(out, batch, ctx) {
        const y = batch.labels;
        const full = nn.F.crossEntropy(out.fused, y);
        if (!(starts <= ctx.epoch && ctx.epoch <= ends)) return { loss: full };
        const mods = ctx.modalities;
        const draws = noGrad(() => ctx.randnLike(zeros([mods.length], { device: out.fused.device as never })).toFloat64Array());
        const order = removalOrder(draws).slice(0, mods.length - 1).map((i) => mods[i] as string);
        let features = { ...out.features };
        let before = out.fused;
        const ces: Tensor[] = [full];
        const diffs: Tensor[] = [];
        for (const m of order) {
          const f = features[m];
          if (!f) throw new Error(`${NAME}: the model gave no features for "${m}"`);
          features = { ...features, [m]: ops.zeros_like(f) };
          const after = ctx.model.fuse(features).fused.to(out.fused.dtype);
          ces.push(nn.F.crossEntropy(after, y));
          diffs.push(confidence(after).sub(confidence(before)));
          before = after;
        }
        // The global batch's size, and (batch hinge) each removal's global sum of confidence rises.
        const local = hinge === 'batch' ? tidy(() => diffs.map((d) => d.sum().item())) : [];
        const [n, ...sums] = ctx.allReduceSum([batch.size, ...local]) as [number, ...number[]];
        const share = n / batch.size;
        const terms = diffs.map((d, j) => (hinge === 'sample' ? d.relu().sum().mul(share) : (sums[j] as number) > 0 ? d.sum().mul(share) : d.sum().mul(0)));
        const ce = ces.reduce((a, b) => a.add(b)).div(mods.length);
        const reg = terms.reduce((a, b) => a.add(b));
        // reg per sample: this rank's sum over its slice (the ranks' mean of it is the global one).
        const logs = readScalars({ ce, reg: reg.div(share * batch.size) });
        return { loss: lam > 0 ? ce.add(reg.mul(lam)) : ce, logs };
      },
    };
  },
});
