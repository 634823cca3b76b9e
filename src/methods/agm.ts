/**
 * AGM: Adaptive Gradient Modulation (Li, Li, Hu et al., ICCV 2023, "Boosting Multi-modal Model
 * Performance with Adaptive Gradient Modulation"; reference code github.com/lihong2303/AGM_ICCV2023,
 * read as the authors' lihong2303/AGM: run/CREMAD_main.py (train), model/CREMAD_net.py (GradMod:
 * the Modality_Audio / Modality_Visual responses and the backward hooks that scale them), defaults
 * from utils/config.py; also the AGM trainer of GeWu-Lab/BalanceBenchmark,
 * balancemm/trainer/AGM_trainer.py).
 *
 * The loss is the fused cross-entropy. Per batch, for two modalities a and v:
 * - Mono-modal responses, the Shapley-style attribution of the fused logits to each modality, as
 *   the reference writes them (f(a, v) the fused logits, f(a, 0) with v removed):
 *     phi_a = 1/2 [f(a, v) - f(0, v) + f(a, 0)],   phi_v = 1/2 [f(a, v) - f(a, 0) + f(0, v)],
 *   so phi_a + phi_v = f(a, v) (the exact two-player Shapley value would also subtract f(0, 0) / 2
 *   from each; the reference leaves that term out, and so do we). A removed modality is a zeroed feature vector, and the model
 *   contract's unimodal logits are exactly the head's response to one modality alone (docs/METHOD.md §1), so
 *     phi_a = 1/2 (z - z^v + z^a),   phi_v = 1/2 (z - z^a + z^v)
 *   from the model output, without extra forward passes. (With concat fusion f(a, 0) = W_a f_a + b =
 *   z^a + b/2, and phi_a = z^a exactly.)
 * - Mono-modal scores, their cross-entropies: s_m = mean_i -log max(softmax(phi_m)_i[y_i], 1e-8).
 * - Ratios: r_a = exp(s_v - s_a), r_v = exp(s_a - s_v); targets from the running averages of the
 *   scores, rhat_a = exp(shat_v - shat_a), rhat_v = exp(shat_a - shat_v).
 * - Coefficients: k_m = exp(alpha * min(rhat_m - r_m, cap)): a modality that is doing better
 *   relative to the other than it has on average (r_m > rhat_m) is slowed down, the other sped up.
 * - Running averages, after the coefficients: shat_m <- shat_m (t - 1) / t + s_m / t, t the step
 *   count of the run from 1 (a cumulative mean, not a moving average: the reference has no
 *   momentum), shat = 0 at the start.
 * - In epochs modulationStarts..modulationEnds (0-based, inclusive) the gradients of modality m's
 *   encoder are multiplied by k_m; the averages are updated in every epoch.
 * - Then, as the reference, when any entry of the head's weight gradient exceeds gradClip in
 *   magnitude, all gradients are clipped to a joint 2-norm of gradClip.
 * Defaults: the reference's (alpha 1, modulation in its epochs 1-20, cap 10, clip 1).
 * BalanceBenchmark uses alpha 0.1, a cap of 7 and a clip of 5.
 *
 * Where we depart from the reference, and why:
 * - The reference removes a modality by zeroing its raw input and running the whole network again
 *   (three forward passes, in eval mode); we zero its features, through the contract's unimodal
 *   logits, from the one training forward. An encoder's response to an all-zero input is an
 *   arbitrary point of its feature space, not the absence of the modality.
 * - The reference scales the gradient that flows into phi_a and phi_v (backward hooks), and its
 *   removed-modality passes keep their graphs, so that the scaling also reaches the modality's own
 *   slice of the head and adds small terms through the encoders' zero-input responses. We scale the
 *   encoders' gradients only, after the backward (beforeStep), as BalanceBenchmark does (which also
 *   runs the removed-modality passes without gradient). The head keeps its plain gradient.
 * - Epochs are 0-based here: the reference's default window, epochs 1-20 of 1-based counting
 *   (modulation_starts 0, modulation_ends 20), is 0-19.
 * - The head-gradient test of the clip looks at every 2-D head parameter (the reference's
 *   fc_out.weight for concat fusion).
 * - Sign of the exponents (option `direction`). The reference's two-modality formulas are the
 *   default: they pull the modalities' relative strength back toward its running average.
 *   BalanceBenchmark's M-modality version, r_m = exp(M/(M-1) (s_m - mean s)), has the opposite
 *   sign in both exponents (for two modalities r_a = exp(s_a - s_v), rhat_a = exp(shat_a - shat_v)),
 *   which speeds up a modality while it does better than its average; a federated-learning
 *   adaptation of the reference code makes the same change, commenting that the original differs
 *   from the paper's formula. We could not read the paper's equations here to settle it, so
 *   `direction: benchmark` gives that variant, for the ablation to decide.
 * - Two modalities only: the Shapley responses for more need the prediction of every subset of the
 *   modalities, and the model contract gives only the full and the single-modality ones.
 *
 * - Data-parallel: the scores are means over the global batch (each rank's sums and count, summed
 *   over the ranks), and the gradients they scale and clip are already averaged over the ranks,
 *   so every rank applies the 1-process update of the global batch and keeps the same averages.
 *
 * State for resume: the running averages and the step count.
 */
import { nn, noGrad, optim, tidy, type Tensor } from '../torch/index.js';
import type { ModelOutput } from '../models/types.js';
import { defineMethod, type MethodState } from './method.js';
import { EpochMeans, readScalars } from './balance-utils.js';

const NAME = 'agm';
const DIRECTIONS = ['reference', 'benchmark'] as const;
export type AgmDirection = (typeof DIRECTIONS)[number];
/** The reference's floor on the true-class probability of a mono-modal response. */
const PROB_FLOOR = 1e-8;

function twoModalities(modalities: string[]): [string, string] {
  if (modalities.length !== 2) {
    throw new Error(`${NAME}: needs exactly 2 modalities (the Shapley responses need a prediction for every subset of the modalities), got ${modalities.join(', ') || 'none'}`);
  }
  return modalities as [string, string];
}

/** Mono-modal responses of two modalities: phi_m = (z - z^other + z^m) / 2. */
export function monoModalResponses(fused: Tensor, unimodal: Record<string, Tensor>, modalities: string[]): Record<string, Tensor> {
  const [a, b] = twoModalities(modalities);
  const za = unimodal[a];
  const zb = unimodal[b];
  if (!za || !zb) throw new Error(`${NAME}: the model gave no unimodal logits for "${za ? b : a}"`);
  return { [a]: fused.sub(zb).add(za).div(2), [b]: fused.sub(za).add(zb).div(2) };
}

/** Per sample -log max(softmax(phi)_i[y_i], 1e-8), [N]: the mono-modal cross-entropies, floored as the reference. */
function monoModalLosses(response: Tensor, labels: Tensor): Tensor {
  return noGrad(() => response.softmax(1).gather(1, labels.unsqueeze(1)).clamp(PROB_FLOOR).log().neg().reshape([-1]));
}

/** s = mean_i -log max(softmax(phi)_i[y_i], 1e-8): the mono-modal cross-entropy, floored as the reference. */
export function monoModalScore(response: Tensor, labels: Tensor): Tensor {
  return noGrad(() => monoModalLosses(response, labels).mean());
}

export interface AgmCoefficients {
  /** r_m = exp(mean of the other scores - s_m) (reference direction): high when m currently does better than the others. */
  ratio: Record<string, number>;
  /** The same from the running averages. */
  target: Record<string, number>;
  /** k_m = exp(alpha min(target_m - ratio_m, cap)). */
  coeff: Record<string, number>;
}

/**
 * The modulation coefficients from this batch's scores and the running averages (before this
 * batch's update). With two modalities, r_a = exp(s_v - s_a) as the reference (`benchmark`:
 * exp(s_a - s_v), and likewise for the target); with more, the other modalities' mean takes s_v's place.
 */
export function agmCoefficients(scores: Record<string, number>, averages: Record<string, number>, alpha: number, cap: number,
  direction: AgmDirection = 'reference'): AgmCoefficients {
  const names = Object.keys(scores);
  if (names.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${names.join(', ') || 'none'}`);
  const othersMean = (v: Record<string, number>, m: string): number => {
    const rest = names.filter((o) => o !== m);
    return rest.reduce((s, o) => s + (v[o] ?? 0), 0) / rest.length;
  };
  const ratio: Record<string, number> = {};
  const target: Record<string, number> = {};
  const coeff: Record<string, number> = {};
  const sign = direction === 'reference' ? 1 : -1;
  for (const m of names) {
    ratio[m] = Math.exp(sign * (othersMean(scores, m) - (scores[m] as number)));
    target[m] = Math.exp(sign * (othersMean(averages, m) - (averages[m] ?? 0)));
    coeff[m] = Math.exp(alpha * Math.min((target[m] as number) - (ratio[m] as number), cap));
  }
  return { ratio, target, coeff };
}

/** The cumulative mean after the t-th value x (t from 1): mean (t - 1) / t + x / t. */
export function cumulativeMean(mean: number, x: number, t: number): number {
  return (mean * (t - 1)) / t + x / t;
}

function scale(params: Tensor[], k: number): void {
  if (k === 1) return;
  tidy(() => noGrad(() => {
    for (const p of params) p.grad?.mul_(k);
  }));
}

export const agm = defineMethod({
  name: NAME,
  summary: 'AGM (Li et al. 2023): Shapley mono-modal responses; encoder gradients scaled to hold the modalities\' relative strength at its running average',
  options: {
    alpha: { type: 'number', default: 1, min: 0, help: 'modulation strength alpha of k = exp(alpha min(target - ratio, cap)) (reference 1; BalanceBenchmark 0.1)' },
    cap: { type: 'number', default: 10, min: 0, help: 'upper bound on target - ratio inside the exponent (reference 10; BalanceBenchmark 7)' },
    modulationStarts: { type: 'number', integer: true, default: 0, min: 0, help: 'first epoch (0-based) of modulation' },
    modulationEnds: { type: 'number', integer: true, default: 19, min: 0, help: 'last epoch (0-based, inclusive) of modulation (reference: its epochs 1-20)' },
    gradClip: { type: 'number', default: 1, min: 0, help: 'when a head weight gradient entry exceeds this in magnitude, clip all gradients to this 2-norm; 0: never (reference 1)' },
    direction: { type: 'choice', choices: DIRECTIONS, default: 'reference', help: 'sign of the ratio exponents: reference (AGM code) or benchmark (BalanceBenchmark, the opposite)' },
  },
  sharedWarmup: false,
  check: (o) => (o.modulationEnds < o.modulationStarts ? `option modulationEnds (${o.modulationEnds}) must not be before modulationStarts (${o.modulationStarts})` : null),
  build({ alpha, cap, modulationStarts: starts, modulationEnds: ends, gradClip, direction }) {
    const means = new EpochMeans();
    /** Running (cumulative) means of the mono-modal scores, and the steps they average. */
    let averages: Record<string, number> = {};
    let steps = 0;

    return {
      name: NAME,

      loss(out, batch) {
        const ce = nn.F.crossEntropy(out.fused, batch.labels);
        return { loss: ce, logs: readScalars({ ce }) };
      },

      beforeStep(out: ModelOutput, batch, ctx) {
        const mods = twoModalities(ctx.modalities);
        const local = tidy(() => noGrad(() => {
          const phi = monoModalResponses(out.fused.detach(), Object.fromEntries(mods.map((m) => [m, (out.unimodal[m] as Tensor | undefined)?.detach() as Tensor])), mods);
          return readScalars(Object.fromEntries(mods.map((m) => [m, monoModalLosses(phi[m] as Tensor, batch.labels).sum()])));
        }));
        // Means over the global batch: sums and the count, summed over the ranks.
        const sums = ctx.allReduceSum([...mods.map((m) => local[m] as number), batch.size]);
        const n = sums[mods.length] as number;
        const scores = Object.fromEntries(mods.map((m, i) => [m, (sums[i] as number) / n]));
        const before = Object.fromEntries(mods.map((m) => [m, averages[m] ?? 0]));
        const { ratio, coeff } = agmCoefficients(scores, before, alpha, cap, direction);
        steps++;
        averages = Object.fromEntries(mods.map((m) => [m, cumulativeMean(before[m] as number, scores[m] as number, steps)]));

        const active = starts <= ctx.epoch && ctx.epoch <= ends;
        const logs: Record<string, number> = {};
        for (const m of mods) {
          const k = active ? (coeff[m] as number) : 1;
          if (active) scale(ctx.model.encoder(m).parameters(), k);
          logs[`k_${m}`] = k;
          logs[`ratio_${m}`] = ratio[m] as number;
          logs[`score_${m}`] = scores[m] as number;
        }
        if (gradClip > 0) {
          const weights = ctx.model.headParameters().filter((p) => p.ndim >= 2 && p.grad);
          const peak = weights.length === 0 ? 0
            : tidy(() => Math.max(...Object.values(readScalars(Object.fromEntries(weights.map((p, i) => [`w${i}`, (p.grad as Tensor).abs().max()]))))));
          logs.clipped = peak > gradClip ? 1 : 0;
          if (peak > gradClip) optim.clipGradNorm(ctx.model.parameters(), gradClip);
        }
        means.add(logs);
        return logs;
      },

      // Epoch means of the per-step coefficients, ratios and scores, and the running averages.
      endEpoch: async () => ({ ...means.take(), ...Object.fromEntries(Object.entries(averages).map(([m, v]) => [`average_${m}`, v])) }),

      state(): MethodState {
        return { json: { steps, averages: { ...averages } }, tensors: {} };
      },

      loadState(s) {
        const t = s.json.steps;
        const a = s.json.averages;
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) throw new Error(`${NAME}: state has no valid "steps"`);
        if (typeof a !== 'object' || a === null || Array.isArray(a) || !Object.values(a).every((v) => typeof v === 'number' && Number.isFinite(v))) {
          throw new Error(`${NAME}: state has no valid "averages"`);
        }
        steps = t;
        averages = { ...(a as Record<string, number>) };
      },
    };
  },
});
