/**
 * Greedy: balanced multi-modal learning (Wu, Jastrzebski, Cho & Geras, "Characterizing and
 * overcoming the greedy nature of learning in multi-modal deep neural networks", ICML 2022,
 * arXiv 2202.05306; reference code github.com/nyukat/greedy_multimodal_learning, its
 * Bias_Mitigation_Strong callback and MMTM_mitigate block, and BalanceBenchmark's Greedy trainer).
 *
 * The model is the `mmtm` fusion (src/models/fusion.ts), which this method declares: each
 * modality's features are re-scaled by an excitation s_m computed from every modality, the
 * cross-modal flow into its branch, and each branch has its own head. After every backward the
 * method measures how fast each branch learns through that flow against through its own weights:
 *   mu(P) = sum_{p in P} |grad p|^2 / sum_{p in P} |p|^2              (one step)
 *   v_m = log10( sum_steps mu(bypass_m) / sum_steps mu(main_m) )    (conditional learning speed)
 * (v_m is BDR_m in the reference code; the names here follow it.)
 * bypass_m: the squeeze layer (shared) and modality m's excitation layer; main_m: modality m's
 * encoder and head. The sums run over every step that is not a re-balancing step. From epoch
 * `starts` on, when the speeds differ by more than alpha (two modalities: |v_0 - v_1| > alpha),
 * the next `window` steps are re-balancing steps for the modality with the highest v (the one
 * that learns most through the others, i.e. least from its own input): its excitation is held at
 * its running mean over the training steps so far, so no cross-modal information reaches its
 * branch and it must learn from its own modality; the other branches are unchanged. Every step's
 * loss is the cross-entropy of the fused logits (a re-balancing step's with the excitation held),
 * and every parameter is updated, as the reference does. Defaults: the reference's config
 * (training_guided.gin: epsilon 0.01, curation window 5, starting epoch 2 of its 1-based epochs).
 *
 * Where we depart from the reference code:
 * - One MMTM block on the encoders' output features, not blocks at several depths inside the
 *   encoders (mmgap's models fuse after the encoders): the bypass of modality m is that block's
 *   squeeze layer and m's excitation layer, and its squeeze reads the feature vectors themselves
 *   (the reference's spatial mean of a feature map). BalanceBenchmark leaves its fused head out of
 *   both groups; here, as the reference, each branch's head is in its main group.
 * - BalanceBenchmark re-balances from the first step with alpha 0.001; the defaults here are the
 *   reference's (--method-opt alpha=0.001 --method-opt starts=0 give BalanceBenchmark's).
 * - The reference's random variant (Bias_Mitigation_Random) is not included.
 * - Loss: the cross-entropy of the summed branch logits (as BalanceBenchmark, whose loss is its
 *   fused head's), not the reference's sum of the branches' cross-entropies; its prediction is the
 *   branches' mean, whose argmax is the sum's.
 * - The running mean of an excitation counts the training steps only (the reference also counts
 *   its evaluation passes, and updates its second modality's with the first's: a bug that
 *   BalanceBenchmark fixed). Evaluation never holds an excitation (the reference evaluates in the
 *   mode the last training step left).
 * - More than two modalities: re-balancing starts when the largest and smallest speeds differ by
 *   more than alpha, for the largest (the reference is for two; this is its rule there).
 * - Data-parallel: the running means are of the global batch (sums over the ranks); the speeds
 *   read the averaged gradients, which are the 1-process ones.
 */
import { nn, noGrad, stack, tensor, tidy, type Tensor } from '../torch/index.js';
import { mmtmFusionOf } from '../models/fusion.js';
import { defineMethod, type MethodState } from './method.js';
import { EpochMeans, readScalars } from './balance-utils.js';

const NAME = 'greedy';

/** Conditional learning speeds v_m = log10(bypass_m / main_m) from the accumulated update rates. */
export function conditionalSpeeds(bypass: Record<string, number>, main: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(main).map((m) => [m, Math.log10((bypass[m] as number) / (main[m] as number))]));
}

/** The modality to re-balance: the highest v (learning most through the others) when the speeds spread by more than alpha, else null. */
export function rebalanceTarget(speeds: Record<string, number>, alpha: number): string | null {
  const names = Object.keys(speeds);
  if (names.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${names.join(', ') || 'none'}`);
  const sorted = [...names].sort((a, b) => (speeds[b] as number) - (speeds[a] as number));
  const [top, bottom] = [sorted[0] as string, sorted[sorted.length - 1] as string];
  return (speeds[top] as number) - (speeds[bottom] as number) > alpha ? top : null;
}

/** sum_p |p|^2 over tensors, in float64. */
function sumOfSquares(ts: Tensor[]): Tensor {
  return stack(ts.map((t) => t.double().square().sum())).sum();
}

export const greedy = defineMethod({
  name: NAME,
  summary: 'Greedy (Wu et al. 2022): when the conditional learning speeds diverge, steps that cut the cross-modal flow into the branch learning least from its own modality (uses the mmtm fusion)',
  options: {
    alpha: { type: 'number', default: 0.01, min: 0, help: 'threshold on the spread of the conditional learning speeds (log10 units) that starts re-balancing' },
    window: { type: 'number', integer: true, default: 5, min: 1, help: 're-balancing steps taken each time the threshold is crossed' },
    starts: { type: 'number', integer: true, default: 1, min: 0, help: 'first epoch (0-based) that may re-balance; the speeds accumulate from epoch 0' },
  },
  fusion: 'mmtm',
  build({ alpha, window, starts }) {
    const means = new EpochMeans();
    /** Accumulated update rates of each modality's bypass and main parameters. */
    let bypass: Record<string, number> = {};
    let main: Record<string, number> = {};
    /** Running mean of each modality's excitation over the training steps, and the steps counted. */
    let average: Record<string, Float64Array> = {};
    let steps = 0;
    /** The modality being re-balanced and the re-balancing steps taken, or null. */
    let caring: string | null = null;
    let taken = 0;

    return {
      name: NAME,

      loss(out, batch, ctx) {
        const fusion = mmtmFusionOf(ctx.model, NAME);
        // The global batch's mean excitation joins the running means (before a held step uses them, as the reference).
        const local = tidy(() => noGrad(() => {
          const s = fusion.excitations(out.features);
          return ctx.modalities.map((m) => (s[m] as Tensor).double().sum(0).toFloat64Array());
        }));
        const sums = ctx.allReduceSum([...local.flatMap((v) => Array.from(v)), batch.size]);
        const n = sums[sums.length - 1] as number;
        let at = 0;
        for (const [i, m] of ctx.modalities.entries()) {
          const d = (local[i] as Float64Array).length;
          const prev = average[m] ?? new Float64Array(d);
          average[m] = Float64Array.from({ length: d }, (_, k) => ((sums[at + k] as number) / n + (prev[k] as number) * steps) / (steps + 1));
          at += d;
        }
        steps++;
        const fused = caring === null ? out.fused
          : fusion.fuseHeld(out.features, caring, tensor(average[caring] as Float64Array).to(out.fused.device as never));
        const logs = Object.fromEntries(ctx.modalities.map((m) => [`rebalance_${m}`, m === caring ? 1 : 0]));
        means.add(logs);
        return { loss: nn.F.crossEntropy(fused.to(out.fused.dtype), batch.labels), logs };
      },

      beforeStep(_out, _batch, ctx) {
        if (caring !== null) {
          // A re-balancing step: the rates are not measured; the window counts down.
          if (++taken === window) caring = null;
        } else {
          const fusion = mmtmFusionOf(ctx.model, NAME);
          const groups = Object.fromEntries(ctx.modalities.flatMap((m, i) => [
            [`bypass_${m}`, [...fusion.squeeze.parameters(), ...(fusion.excite[i] as nn.Linear).parameters()]],
            [`main_${m}`, [...ctx.model.encoder(m).parameters(), ...(fusion.heads[i] as nn.Linear).parameters()]],
          ]));
          const norms = tidy(() => noGrad(() => readScalars(Object.fromEntries(Object.entries(groups).flatMap(([k, ps]) => {
            const grads = ps.flatMap((p) => (p.grad ? [p.grad] : []));
            if (grads.length === 0) throw new Error(`${NAME}: no gradient reached the ${k.replace('_', ' parameters of ')} (are they frozen?)`);
            return [[`g_${k}`, sumOfSquares(grads)], [`w_${k}`, sumOfSquares(ps.map((p) => p.detach()))]];
          })))));
          for (const m of ctx.modalities) {
            bypass[m] = (bypass[m] ?? 0) + (norms[`g_bypass_${m}`] as number) / (norms[`w_bypass_${m}`] as number);
            main[m] = (main[m] ?? 0) + (norms[`g_main_${m}`] as number) / (norms[`w_main_${m}`] as number);
          }
          if (ctx.epoch >= starts) {
            caring = rebalanceTarget(conditionalSpeeds(bypass, main), alpha);
            taken = 0;
          }
        }
        const speeds = conditionalSpeeds(bypass, main);
        const logs = Object.fromEntries(ctx.modalities.map((m) => [`speed_${m}`, speeds[m] as number]));
        means.add(logs);
        return logs;
      },

      endEpoch: async () => means.take(),

      state(): MethodState {
        return {
          json: { bypass, main, average: Object.fromEntries(Object.entries(average).map(([m, v]) => [m, Array.from(v)])), steps, caring, taken },
          tensors: {},
        };
      },

      loadState(s) {
        const j = s.json;
        const numbers = (v: unknown): v is Record<string, number> => v !== null && typeof v === 'object' && !Array.isArray(v)
          && Object.values(v).every((x) => typeof x === 'number' && Number.isFinite(x));
        const arrays = (v: unknown): v is Record<string, number[]> => v !== null && typeof v === 'object' && !Array.isArray(v)
          && Object.values(v).every((x) => Array.isArray(x) && x.every((y) => typeof y === 'number' && Number.isFinite(y)));
        if (!numbers(j.bypass) || !numbers(j.main) || !arrays(j.average) || !Number.isInteger(j.steps) || !Number.isInteger(j.taken)
          || !(j.caring === null || typeof j.caring === 'string')) {
          throw new Error(`${NAME}: state has no valid bypass, main, average, steps, caring and taken`);
        }
        bypass = { ...j.bypass };
        main = { ...j.main };
        average = Object.fromEntries(Object.entries(j.average).map(([m, v]) => [m, Float64Array.from(v)]));
        steps = j.steps as number;
        caring = j.caring as string | null;
        taken = j.taken as number;
      },
    };
  },
});
