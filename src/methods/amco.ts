/**
 * AMCo: Adaptive Mask Co-optimization (Ying Zhou, Xuefeng Liang, Shiquan Zheng, Huijun Xuan &
 * Takatsune Kumada, "Adaptive Mask Co-optimization for Modal Dependence in Multimodal Learning",
 * ICASSP 2023, doi 10.1109/ICASSP49357.2023.10096641; BalanceBenchmark's implementation,
 * GeWu-Lab/BalanceBenchmark balancemm/trainer/AMCo_trainer.py and the AMCo model of
 * balancemm/models/avclassify_model.py, for the facts).
 *
 * Only the paper's abstract could be read here (the search index has no full text): a model comes
 * to depend on the modality that is easier to learn; AMCo masks that "dependent" modality,
 * adaptively, so that the others are fitted better, and co-optimises the unimodal losses so the
 * dependent modality does not degrade. The formulas are therefore BalanceBenchmark's:
 * - Dependence, per step: softmax over the concatenated unimodal logits [z^1_i, ..., z^M_i] (M C
 *   entries), s_m = (1/N) sum_i (the mass on modality m's C entries). Modality m is dependent when
 *   s_m > sigma.
 * - Mask ratio: l = (batch index within the epoch) * epoch * ramp, p = sin(pi/2 * min(eps, l) / eps).
 *   (BalanceBenchmark: l starts at 0 every epoch and grows by current_epoch / 10 after each batch.)
 * - Mask: floor(p d_m) of the d_m feature entries of a dependent modality, at random positions
 *   (one draw per step, the same for every sample), are zeroed, and the features scaled by
 *   1 / (1 - p), or by 10 when |p - 1| <= 0.1. The fusion runs on the masked features.
 * - Loss inside the window: CE(fused) + sum_m CE(z^m), all from the masked features (the
 *   co-optimisation); outside it, plain fused cross-entropy.
 * Defaults: BalanceBenchmark's (sigma 0.5, eps 0.3, ramp 0.1, epochs 0-80).
 *
 * What the schedule does with these defaults, as in the reference: no mask in epoch 0 (l stays 0),
 * and p reaches 1 after 3 batches of epoch 1, 2 of epoch 2 and 1 from epoch 3 on, so a dependent
 * modality's features are removed outright for most of each epoch. Kept, not smoothed: it is what
 * BalanceBenchmark's numbers measure; `eps` and `ramp` slow it down.
 *
 * Where we depart from the reference, and why:
 * - When dependence is decided. The reference decides after a step, from that step's (already
 *   masked) logits, and masks on the next step, so a masked modality looks weak and is unmasked
 *   on the step after: it alternates. Here each step decides from its own unmasked unimodal
 *   logits (out.unimodal) before masking: the dependence of the model, not of the last mask.
 * - What is masked. BalanceBenchmark has two revisions: the feature mask above, whose width U (512)
 *   is the encoders' feature width; and a later one that masks the dependent modality's unimodal
 *   logits over the classes, sums them as the fused logits and adds a learned C x C layer on top.
 *   The feature-mask one is followed: it needs no extra layer in the model (the model contract
 *   has none), and U is each modality's feature width d_m, so it is not an option.
 * - Several dependent modalities (sigma below 1 / M allows it): each gets its own mask, drawn in
 *   the order of the modalities (the reference's first revision masks only the first).
 * - Random numbers: the reference shuffles with NumPy's global stream; here the StepContext's
 *   randnLike (seeded by run seed, step and draw): the positions of the floor(p d_m) largest draws
 *   are zeroed, the same on every rank and in one process.
 * - Data-parallel: the shares are summed over the global batch (the ranks decide alike); the
 *   losses are means over each rank's slice, averaged over the ranks by the trainer.
 */
import { cat, nn, noGrad, ops, tidy, zeros, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';
import { modalityFeatures, readScalars, unimodalLogits } from './balance-utils.js';

const NAME = 'amco';

/** The mask ratio p after `batch` batches of `epoch`: sin(pi/2 * min(eps, batch * epoch * ramp) / eps). */
export function maskRatio(batch: number, epoch: number, eps: number, ramp: number): number {
  return Math.sin((Math.PI / 2) * Math.min(eps, batch * epoch * ramp) / eps);
}

/** The scale of the kept features: 1 / (1 - p), or 10 when p is within 0.1 of 1 (the reference's cap). */
export function maskScale(p: number): number {
  return Math.abs(p - 1) > 0.1 ? 1 / (1 - p) : 10;
}

/**
 * Per modality, the summed (over the batch) softmax mass that the concatenated unimodal logits
 * [z^1_i, ..., z^M_i] put on its C entries: divided by the batch size, the dependence share s_m.
 */
export function dependenceMass(logits: Tensor[]): Tensor {
  return noGrad(() => {
    const c = (logits[0] as Tensor).size(1);
    const p = cat(logits, 1).double().softmax(1);
    return p.reshape([p.size(0), logits.length, c]).sum([0, 2]);
  });
}

/** A 0/1 mask of `width` entries with `zeroed` zeros at the positions of the largest draws. */
export function maskFromDraws(draws: Tensor, zeroed: number): Tensor {
  return noGrad(() => {
    const rank = ops.argsort(ops.argsort(draws, 0, true), 0);
    return rank.ge(zeroed).to(draws.dtype);
  });
}

export const amco = defineMethod({
  name: NAME,
  summary: 'AMCo (Zhou et al. 2023): mask the features of the modality the model depends on, at a ratio that ramps up each epoch, and co-optimise the unimodal losses',
  options: {
    sigma: { type: 'number', default: 0.5, min: 0, max: 1, help: 'a modality is dependent when its share of the softmax over the concatenated unimodal logits exceeds this' },
    eps: { type: 'number', default: 0.3, min: 0, exclusiveMin: true, help: 'the ramp value at which the mask ratio reaches 1: p = sin(pi/2 * min(eps, l) / eps)' },
    ramp: { type: 'number', default: 0.1, min: 0, help: 'growth of the ramp value l per batch, times the epoch (the reference\'s current_epoch / 10)' },
    modulationStarts: { type: 'number', integer: true, default: 0, min: 0, help: 'first epoch (0-based) of masking and the unimodal losses' },
    modulationEnds: { type: 'number', integer: true, default: 80, min: 0, help: 'last epoch (0-based, inclusive) of masking and the unimodal losses' },
  },
  check: (o) => (o.modulationEnds < o.modulationStarts ? `option modulationEnds (${o.modulationEnds}) must not be before modulationStarts (${o.modulationStarts})` : null),
  build({ sigma, eps, ramp, modulationStarts: starts, modulationEnds: ends }) {
    /** Batches seen in this epoch (beginEpoch resets it; every rank sees as many). */
    let batchInEpoch = 0;

    return {
      name: NAME,

      async beginEpoch() {
        batchInEpoch = 0;
      },

      loss(out, batch, ctx) {
        const y = batch.labels;
        const k = batchInEpoch++;
        if (!(starts <= ctx.epoch && ctx.epoch <= ends)) return { loss: nn.F.crossEntropy(out.fused, y) };
        const mods = ctx.modalities;
        if (mods.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${mods.join(', ') || 'none'}`);
        const local = tidy(() => Array.from(dependenceMass(mods.map((m) => unimodalLogits(out, m, NAME))).toFloat64Array()));
        const [n, ...mass] = ctx.allReduceSum([batch.size, ...local]) as [number, ...number[]];
        const share = mass.map((s) => s / n);
        const p = maskRatio(k, ctx.epoch, eps, ramp);
        const dependent = mods.filter((_, j) => (share[j] as number) > sigma);
        const logs: Record<string, number> = { p };
        mods.forEach((m, j) => Object.assign(logs, { [`share_${m}`]: share[j], [`masked_${m}`]: dependent.includes(m) && p > 0 ? 1 : 0 }));
        let fused = out.fused;
        let unimodal = mods.map((m) => unimodalLogits(out, m, NAME));
        if (dependent.length > 0 && p > 0) {
          const scale = maskScale(p);
          const features = { ...out.features };
          for (const m of dependent) {
            const f = modalityFeatures(out, m, NAME);
            const d = f.size(1);
            const mask = maskFromDraws(ctx.randnLike(zeros([d], { device: f.device as never })), Math.floor(p * d)).to(f.dtype);
            features[m] = f.mul(mask.unsqueeze(0)).mul(scale);
          }
          const masked = ctx.model.fuse(features);
          fused = masked.fused.to(out.fused.dtype);
          unimodal = mods.map((m) => (masked.unimodal[m] as Tensor).to(out.fused.dtype));
        }
        const ce = nn.F.crossEntropy(fused, y);
        const uni = unimodal.map((z) => nn.F.crossEntropy(z, y));
        Object.assign(logs, readScalars({ ce, ...Object.fromEntries(mods.map((m, j) => [`ce_${m}`, uni[j] as Tensor])) }));
        return { loss: uni.reduce((s, t) => s.add(t), ce), logs };
      },
    };
  },
});
