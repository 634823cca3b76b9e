/**
 * OPM: On-the-fly Prediction Modulation (Wei, Hu, Du & Wen, "On-the-fly Modulation for Balanced
 * Multimodal Learning", IEEE TPAMI 2024, arXiv 2410.11582, the journal version of OGM-GE; reference
 * code github.com/GeWu-Lab/BML_TPAMI2024, code/models/Classifier.py and scripts/train_opm.sh, and
 * BalanceBenchmark's OPM trainer for more than two modalities).
 *
 * In the feed-forward stage the dominant modality's features are dropped, per sample, with a
 * probability that grows with its lead. Per batch:
 *   s_m = sum_i softmax(z^m_i)[y_i]                     score of modality m (its unimodal logits)
 *   r_m = tanh(relu(s_m / sum_{m' != m} s_m' - 1))       discrepancy (two modalities: s_a / s_v)
 *   q_m = clip(qBase (1 + lambda r_m), 0, 1) if r_m > 0, else 0    drop probability
 * With probability pExe the step drops: each sample keeps modality m's features with probability
 * 1 - q_m (a Bernoulli mask per sample and modality), every modality's features are divided by
 * 1 - theta, theta = sum_m d_m q_m / sum_m d_m (d_m the feature width: the expected share of
 * features dropped), and the fusion is applied to the masked features. Samples left with no
 * modality leave the batch. The loss is the cross-entropy of those fused logits over the samples
 * kept (plain fused cross-entropy when the step does not drop, and outside the window).
 * Defaults: the reference's script (qBase 0.5, lambda 0.5, pExe 0.7) and BalanceBenchmark's window
 * (epochs 0-80, both ends inclusive).
 *
 * Where we depart from the reference code:
 * - The reference skips its first 6 epochs (a fixed warm-up, epoch <= 5); here the window
 *   (modulationStarts, default 0 as BalanceBenchmark) says when dropping acts.
 * - Random numbers: the reference draws from the global stream; here from the StepContext's
 *   randnLike (seeded by run seed, step and draw), through the normal CDF. The per-sample draws
 *   are one row per training-split sample, picked by the batch's sample indices, so a sample's
 *   mask is the same whichever rank holds it: a data-parallel run draws what one process draws.
 * - Data-parallel: s_m and the number of samples kept are summed over the global batch; each rank's
 *   loss is its kept samples' summed cross-entropy over the global count kept, times the global
 *   batch over its own (so that the ranks' averaged gradient is the 1-process one).
 * - The 1 - theta division has the reference's gradient (1 / (1 - theta)), with 1e-5 added to the
 *   denominator as BalanceBenchmark (q = 1 for every modality would divide by 0).
 */
import { nn, noGrad, ops, tensor, tidy, zeros, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';
import { EpochMeans, modalityFeatures, readScalars, trueClassScore, unimodalLogits } from './balance-utils.js';

const NAME = 'opm';

/** Drop probabilities q_m from the per-batch modality scores s_m. */
export function opmDropProbabilities(scores: Record<string, number>, qBase: number, lambda: number): { ratio: Record<string, number>; q: Record<string, number> } {
  const names = Object.keys(scores);
  if (names.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${names.join(', ') || 'none'}`);
  const ratio: Record<string, number> = {};
  const q: Record<string, number> = {};
  for (const m of names) {
    const others = names.filter((o) => o !== m).reduce((s, o) => s + (scores[o] as number), 0);
    const r = Math.tanh(Math.max(0, (scores[m] as number) / others - 1));
    ratio[m] = r;
    q[m] = r > 0 ? Math.min(1, Math.max(0, qBase * (1 + lambda * r))) : 0;
  }
  return { ratio, q };
}

/** theta = sum_m d_m q_m / sum_m d_m: the expected share of features dropped. */
export function opmTheta(q: Record<string, number>, dims: Record<string, number>): number {
  const names = Object.keys(q);
  return names.reduce((s, m) => s + (dims[m] as number) * (q[m] as number), 0) / names.reduce((s, m) => s + (dims[m] as number), 0);
}

export const opm = defineMethod({
  name: NAME,
  summary: 'OPM (Wei et al. 2024): drop the dominant modality\'s features per sample with a probability set by its lead',
  options: {
    qBase: { type: 'number', default: 0.5, min: 0, max: 1, help: 'base drop probability q_base of the dominant modality' },
    lambda: { type: 'number', default: 0.5, min: 0, help: 'growth of the drop probability with the discrepancy: q = q_base (1 + lambda r)' },
    pExe: { type: 'number', default: 0.7, min: 0, max: 1, help: 'probability that a step drops features at all' },
    modulationStarts: { type: 'number', integer: true, default: 0, min: 0, help: 'first epoch (0-based) of modulation' },
    modulationEnds: { type: 'number', integer: true, default: 80, min: 0, help: 'last epoch (0-based, inclusive) of modulation' },
  },
  check: (o) => (o.modulationEnds < o.modulationStarts ? `option modulationEnds (${o.modulationEnds}) must not be before modulationStarts (${o.modulationStarts})` : null),
  build({ qBase, lambda, pExe, modulationStarts: starts, modulationEnds: ends }) {
    const means = new EpochMeans();
    let trainSize = 0;

    /** Uniform numbers in (0, 1) shaped like `shape`, the same on every rank (normal draws through their CDF). */
    const uniform = (randnLike: (like: Tensor) => Tensor, shape: number[], like: Tensor): Tensor =>
      noGrad(() => ops.special_ndtr(randnLike(zeros(shape, { device: like.device as never }))));

    return {
      name: NAME,

      async beginEpoch(ctx) {
        trainSize = ctx.trainSize;
      },

      loss(out, batch, ctx) {
        const y = batch.labels;
        const plain = (): ReturnType<typeof nn.F.crossEntropy> => nn.F.crossEntropy(out.fused, y);
        if (!(starts <= ctx.epoch && ctx.epoch <= ends)) return { loss: plain() };
        const local = tidy(() => readScalars(Object.fromEntries(ctx.modalities.map((m) => [m, trueClassScore(unimodalLogits(out, m, NAME), y)]))));
        const sums = ctx.allReduceSum(ctx.modalities.map((m) => local[m] as number));
        const { ratio, q } = opmDropProbabilities(Object.fromEntries(ctx.modalities.map((m, i) => [m, sums[i] as number])), qBase, lambda);
        const logs: Record<string, number> = {};
        for (const m of ctx.modalities) Object.assign(logs, { [`ratio_${m}`]: ratio[m], [`q_${m}`]: q[m] });
        // Both draws every step, so that the k-th draw of a step means the same thing on every step.
        const exe = (uniform(ctx.randnLike, [1], out.fused).toFloat32Array()[0] as number) < pExe;
        if (trainSize <= Math.max(...batch.index)) throw new Error(`${NAME}: sample index ${Math.max(...batch.index)} is outside the training split of ${trainSize} (beginEpoch sets its size)`);
        const rows = uniform(ctx.randnLike, [trainSize, ctx.modalities.length], out.fused);
        if (!exe || ctx.modalities.every((m) => q[m] === 0)) {
          // Every step of the window logs the same keys (the trainer averages them over its steps).
          Object.assign(logs, { dropped: 0, keptShare: 1 });
          means.add(logs);
          return { loss: plain(), logs };
        }
        // keep[i, m] = 1 with probability 1 - q_m, from the sample's own row of draws.
        const u = rows.indexSelect(0, tensor(Array.from(batch.index), { dtype: 'int64' }).to(rows.device as never));
        const qs = tensor(ctx.modalities.map((m) => q[m] as number), [1, ctx.modalities.length]).to(u.device as never);
        const keep = noGrad(() => u.ge(qs).to(out.fused.dtype));
        const dims = Object.fromEntries(ctx.modalities.map((m) => [m, modalityFeatures(out, m, NAME).size(1)]));
        const scale = 1 / (1 - opmTheta(q, dims) + 1e-5);
        const masked = Object.fromEntries(ctx.modalities.map((m, j) => [m, modalityFeatures(out, m, NAME).mul(keep.narrow(1, j, 1)).mul(scale)]));
        const fused = ctx.model.fuse(masked).fused.to(out.fused.dtype);
        // Samples left with no modality leave the batch (weight 0).
        const kept = noGrad(() => keep.sum(1).gt(0).to(out.fused.dtype));
        const [n, k] = ctx.allReduceSum([batch.size, kept.sum().item()]) as [number, number];
        const ce = nn.F.crossEntropy(fused, y, { reduction: 'none' });
        const loss = k > 0 ? ce.mul(kept).sum().mul(n / batch.size / k) : ce.sum().mul(0);
        logs.dropped = 1;
        logs.keptShare = k / n;
        means.add(logs);
        return { loss, logs };
      },

      endEpoch: async () => means.take(),
    };
  },
});
