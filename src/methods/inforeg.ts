/**
 * InfoReg: Information Acquisition Regulation (Huang, Wei, Yang & Hu, CVPR 2025, "Adaptive Unimodal
 * Regulation for Balanced Multimodal Information Acquisition", arXiv 2503.18595; reference code
 * github.com/GeWu-Lab/InfoReg_CVPR2025, main.py train_epoch).
 *
 * Early in training (the "prime learning window") a multimodal network acquires most of its
 * information, and the information-sufficient modality takes the lion's share. InfoReg slows that
 * modality down inside the window with a proximal term that pulls its encoder toward where it stood
 * at the start of the epoch, so the other modality gets room to learn:
 * - Loss: CE(fused) + sum_m CE(z^m), the fused and every unimodal cross-entropy (as the reference).
 * - Information amount of modality m in epoch e: the trace of the empirical Fisher information of
 *   its encoder, T_m,e = sum_W mean_entries( sum_steps g_W^2 ), over the encoder's weight tensors W
 *   (convolution and linear weights: every parameter of 2 or more dimensions), g the gradient the
 *   optimizer applies (the regulation term included, as the reference measures it).
 * - Information acquisition rate (the window test) before epoch e, from the traces of the epochs
 *   before it, padded in front with `window` zeros (the reference's list of ten zeros):
 *     r_m = (mean(last window traces) - mean(the window before, shifted by one)) / mean(last window traces),
 *   and r_m = 1 before the first epoch. The window of modality m is open while r_m > threshold.
 * - Per step, the modalities' scores s_m = sum_i softmax(z^m_i)[y_i] (over the batch) pick the
 *   dominant modality d (the strictly highest score). If its window is open,
 *     beta = gamma * exp(tanh(s_d - max_{m != d} s_m)),
 *   and every parameter theta of d's encoder gets g <- g + beta (theta - theta_e), theta_e its value
 *   at the start of the epoch: the gradient of (beta / 2) ||theta - theta_e||^2.
 * Defaults are the reference's: gamma 0.95, threshold 0.04, window 10 epochs.
 *
 * Where we depart from the reference, and why:
 * - Which modality is regulated. The reference tests `score_a > score_v` and, in its second branch,
 *   `score_v < score_a` again (so the visual branch, with coefficient 0.1, never runs), and gates
 *   both by the audio trace alone: on its datasets audio is always the one regulated. Here the
 *   dominant modality of each step is regulated, gated by its own acquisition rate, with one gamma:
 *   the method as the paper describes it, for any modality and any number of them.
 * - Unimodal heads. The reference trains separate linear heads on each encoder's features for the
 *   unimodal cross-entropies and scores; here z^m are the model contract's unimodal logits (for
 *   concat fusion: the encoder's slice of the fused head, with bias / M).
 * - The scores are sums over the batch, as the reference's, so the tanh saturates for any but tiny
 *   batches (beta near gamma e or gamma / e). With data-parallel ranks they are summed over the
 *   global batch (StepContext.allReduceSum); the gradients the term edits are already averaged over
 *   the ranks and the parameters are equal on every rank, so every rank applies the 1-process update.
 * - The epoch count and the traces are the method's own (kept in state() for a resume); the
 *   reference's learning-rate schedule (SGD, step decay at 40) is the run's.
 */
import { keep, noGrad, nn, stack, tidy, type Tensor } from '../torch/index.js';
import { defineMethod, type MethodState } from './method.js';
import { EpochMeans, readScalars, trueClassScore, unimodalLogits } from './balance-utils.js';

const NAME = 'inforeg';

/**
 * The information acquisition rate before the next epoch, from the per-epoch traces so far:
 * (mean of the last `window` - mean of the `window` before it shifted by one) / mean of the last
 * `window`, the history padded in front with `window` zeros; 1 before any epoch, 0 for a zero trace.
 */
export function acquisitionRate(traces: readonly number[], window: number): number {
  if (traces.length === 0) return 1;
  const padded = [...new Array<number>(window).fill(0), ...traces];
  const n = padded.length;
  const mean = (from: number, to: number): number => padded.slice(from, to).reduce((a, b) => a + b, 0) / window;
  const recent = mean(n - window, n);
  const before = mean(n - window - 1, n - 1);
  return recent > 0 ? (recent - before) / recent : 0;
}

/** The dominant modality of a step (the strictly highest score; null on a tie) and the regulation strength for it. */
export function regulation(scores: Record<string, number>, gamma: number): { dominant: string | null; beta: number } {
  const names = Object.keys(scores);
  if (names.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${names.join(', ') || 'none'}`);
  const sorted = [...names].sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const [top, second] = [scores[sorted[0] as string] as number, scores[sorted[1] as string] as number];
  if (!(top > second)) return { dominant: null, beta: 0 };
  return { dominant: sorted[0] as string, beta: gamma * Math.exp(Math.tanh(top - second)) };
}

export const inforeg = defineMethod({
  name: NAME,
  summary: 'InfoReg (Huang et al. 2025): pull the dominant encoder toward its start-of-epoch weights while its Fisher-trace growth (prime learning window) lasts',
  options: {
    gamma: { type: 'number', default: 0.95, min: 0, help: 'gamma of the regulation strength beta = gamma * exp(tanh(score gap))' },
    threshold: { type: 'number', default: 0.04, help: 'the prime learning window is open while the Fisher-trace acquisition rate exceeds this' },
    window: { type: 'number', integer: true, default: 10, min: 1, help: 'epochs in each moving average of the Fisher trace behind the acquisition rate' },
  },
  sharedWarmup: false,
  build({ gamma, threshold, window }) {
    /** Per modality: the Fisher trace of each finished epoch. */
    let traces: Record<string, number[]> = {};
    /** This epoch's acquisition rate per modality (set by beginEpoch). */
    let rate: Record<string, number> = {};
    /** Encoder parameters at the start of this epoch, per modality. */
    const anchors = new Map<string, Tensor[]>();
    /** This epoch's running Fisher trace per modality. */
    let fisher: Record<string, number> = {};
    const means = new EpochMeans();

    const dropAnchors = (): void => {
      for (const ts of anchors.values()) for (const t of ts) t.dispose();
      anchors.clear();
    };

    return {
      name: NAME,

      async beginEpoch(ctx) {
        dropAnchors();
        fisher = {};
        rate = {};
        for (const m of ctx.modalities) {
          anchors.set(m, ctx.model.encoder(m).parameters().map((p) => keep(noGrad(() => p.detach().clone()))));
          rate[m] = acquisitionRate(traces[m] ?? [], window);
          fisher[m] = 0;
        }
      },

      loss(out, batch, ctx) {
        const y = batch.labels;
        const fused = nn.F.crossEntropy(out.fused, y);
        const uni = ctx.modalities.map((m) => nn.F.crossEntropy(unimodalLogits(out, m, NAME), y));
        const loss = uni.reduce((a, b) => a.add(b), fused);
        return { loss, logs: readScalars({ ce: fused, ...Object.fromEntries(ctx.modalities.map((m, i) => [`ce_${m}`, uni[i] as Tensor])) }) };
      },

      beforeStep(out, batch, ctx) {
        const local = tidy(() => readScalars(Object.fromEntries(ctx.modalities.map((m) => [m, trueClassScore(unimodalLogits(out, m, NAME), batch.labels)]))));
        const sums = ctx.allReduceSum(ctx.modalities.map((m) => local[m] as number));
        const scores = Object.fromEntries(ctx.modalities.map((m, i) => [m, sums[i] as number]));
        const { dominant, beta } = regulation(scores, gamma);
        const active = dominant !== null && (rate[dominant] ?? 1) > threshold;
        if (active) {
          const anchor = anchors.get(dominant);
          if (!anchor) throw new Error(`${NAME}: no start-of-epoch weights of the ${dominant} encoder (beginEpoch was not called)`);
          tidy(() => noGrad(() => {
            ctx.model.encoder(dominant).parameters().forEach((p, i) => {
              const g = p.grad;
              if (g) g.add_(p.detach().sub(anchor[i] as Tensor), beta);
            });
          }));
        }
        // The empirical Fisher trace of each encoder's weights, from the gradients the optimizer applies.
        const step = tidy(() => readScalars(Object.fromEntries(ctx.modalities.flatMap((m) => {
          const terms = ctx.model.encoder(m).parameters().filter((p) => p.ndim >= 2 && p.grad).map((p) => (p.grad as Tensor).double().square().mean());
          return terms.length > 0 ? [[m, stack(terms).sum()]] : [];
        }))));
        for (const m of ctx.modalities) fisher[m] = (fisher[m] ?? 0) + (step[m] ?? 0);
        const logs = Object.fromEntries(ctx.modalities.map((m) => [`beta_${m}`, active && m === dominant ? beta : 0]));
        means.add(logs);
        return logs;
      },

      async endEpoch(ctx) {
        const report: Record<string, number> = means.take();
        for (const m of ctx.modalities) {
          (traces[m] ??= []).push(fisher[m] ?? 0);
          report[`trace_${m}`] = fisher[m] ?? 0;
          report[`rate_${m}`] = rate[m] ?? 1;
        }
        return report;
      },

      state(): MethodState {
        return { json: { traces }, tensors: {} };
      },

      loadState(s) {
        const t = s.json.traces;
        if (t === null || typeof t !== 'object' || Array.isArray(t)
          || !Object.values(t).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
          throw new Error(`${NAME}: state has no valid "traces"`);
        }
        traces = Object.fromEntries(Object.entries(t as Record<string, number[]>).map(([k, v]) => [k, [...v]]));
        dropAnchors();
      },
    };
  },
});
