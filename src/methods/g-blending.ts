/**
 * G-Blending: Gradient-Blending (Wang, Tran & Feiszli, CVPR 2020, "What Makes Training
 * Multi-modal Classification Networks Hard?", arXiv 1905.12681; BalanceBenchmark's GBlending
 * trainer, GeWu-Lab/BalanceBenchmark balancemm/trainer/GBlending_trainer.py, for the facts of its
 * online variant).
 *
 * The loss blends the cross-entropies of every head, the fused one and each modality's unimodal
 * one: L = sum_k w_k CE(z_k), with weights from each head's overfitting-to-generalisation ratio
 * measured over a window of n epochs ("super-epoch") on a held-out part of the training split:
 *   G_k = L^V_k(N) - L^V_k(N + n)                          generalisation (held-out loss gained)
 *   O_k = (L^V_k(N + n) - L^T_k(N + n)) - (L^V_k(N) - L^T_k(N))   overfitting (gap grown)
 *   w_k = |G_k| / O_k^2, normalised to sum to 1            (the paper's w* ∝ G / O^2)
 * L^T: mean cross-entropy on the training part, L^V: on the held-out part.
 *
 * Where we depart from the paper and the reference code, and why:
 * - The trajectories. Online G-Blend (paper §3.3; the reference's super_epoch_origin) trains a copy
 *   of the model per head for n epochs from the current weights, each copy on its own head's loss
 *   alone, before every super-epoch, at (M + 1) n extra epochs per n. A method here cannot train a
 *   copy (it sees the data only through the trainer's batches), so the weights come from the
 *   heads' trajectories in the run itself: L^T and L^V of every head are measured (eval mode, on the
 *   whole training part, the trainer's training predictions) at the start of every super-epoch, and
 *   the weights for the next super-epoch come from the last two measurements. The heads therefore
 *   learn under the blended loss, not alone, and the weights lag by one super-epoch; the first
 *   super-epoch uses equal weights. No extra training.
 * - The held-out part. The paper holds out part of the training set; here a seeded fraction
 *   `heldOut` of the training split is kept out of training for the whole run (as
 *   diagnosing-relearning), so the model trains on 1 - heldOut of it.
 * - With concat or sum fusion the unimodal heads are slices of the fused head (the model
 *   contract), as in the reference's models, not the paper's separate classifiers.
 * - Degenerate ratios: O_k^2 is floored at 1e-12; a super-epoch where every w_k is 0 or not finite
 *   keeps the previous weights.
 * Defaults: a super-epoch of 10 epochs (the reference's super_epoch).
 */
import { nn, type Tensor } from '../torch/index.js';
import type { SplitPredictions } from './method.js';
import { defineMethod, type MethodState } from './method.js';
import { heldOutMask, readScalars, trainingPart } from './balance-utils.js';

const NAME = 'g-blending';
/** The fused head's key among the heads (modality names are the others). */
export const FUSED = 'fused';

/** Mean training-part and held-out cross-entropy of one head. */
export interface HeadLosses { train: number; heldOut: number }

/** Mean cross-entropy -log p[y] of every head (fused and each modality's) over the rows where `held` is `which`. */
export function headLosses(preds: SplitPredictions, held: Uint8Array, modalities: string[]): Record<string, HeadLosses> {
  const c = preds.numClasses;
  const heads: [string, Float32Array][] = [[FUSED, preds.fused], ...modalities.map((m): [string, Float32Array] => {
    const p = preds.unimodal[m];
    if (!p) throw new Error(`${NAME}: the training predictions have no unimodal probabilities for "${m}"`);
    return [m, p];
  })];
  const out: Record<string, HeadLosses> = {};
  for (const [k, p] of heads) {
    const sum = [0, 0], n = [0, 0];
    preds.index.forEach((s, r) => {
      const part = held[s] ? 1 : 0;
      // Eval-mode softmax probabilities; a 0 probability would make the loss infinite.
      sum[part] = (sum[part] as number) - Math.log(Math.max(p[r * c + (preds.labels[r] as number)] as number, 1e-12));
      n[part] = (n[part] as number) + 1;
    });
    if (!n[0] || !n[1]) throw new Error(`${NAME}: the training split has ${n[0]} training and ${n[1]} held-out samples; both parts need some (set heldOut)`);
    out[k] = { train: (sum[0] as number) / (n[0] as number), heldOut: (sum[1] as number) / (n[1] as number) };
  }
  return out;
}

/** The blending weights w_k = |G_k| / O_k^2 (normalised) from the losses at the start and the end of a super-epoch; null if none is positive and finite. */
export function blendWeights(before: Record<string, HeadLosses>, after: Record<string, HeadLosses>): Record<string, number> | null {
  const raw = Object.keys(after).map((k) => {
    const b = before[k], a = after[k] as HeadLosses;
    if (!b) throw new Error(`${NAME}: no earlier losses of head "${k}"`);
    const g = b.heldOut - a.heldOut;
    const o = (a.heldOut - a.train) - (b.heldOut - b.train);
    return [k, Math.abs(g) / Math.max(o * o, 1e-12)] as const;
  });
  const total = raw.reduce((s, [, w]) => s + w, 0);
  if (!(total > 0 && Number.isFinite(total))) return null;
  return Object.fromEntries(raw.map(([k, w]) => [k, w / total]));
}

export const gBlending = defineMethod({
  name: NAME,
  summary: 'G-Blending (Wang et al. 2020): fused and unimodal losses blended by each head\'s generalisation over overfitting^2 on a held-out part',
  options: {
    superEpoch: { type: 'number', integer: true, default: 10, min: 1, help: 'epochs between weight updates (the reference\'s super_epoch)' },
    heldOut: { type: 'number', default: 0.1, min: 0, max: 0.5, exclusiveMin: true, help: 'fraction of the training split kept out of training to measure generalisation' },
    seed: { type: 'number', integer: true, default: 0, min: 0, help: 'seed of the held-out part' },
  },
  build({ superEpoch, heldOut, seed }) {
    let first: number | null = null;
    let mask: Uint8Array | null = null;
    /** The losses measured at the start of the current super-epoch. */
    let measured: Record<string, HeadLosses> | null = null;
    /** The weights in force: null means equal weights. */
    let weights: Record<string, number> | null = null;
    let report: Record<string, number> | null = null;

    const weightOf = (k: string, heads: number): number => (weights ? (weights[k] ?? 0) : 1 / heads);

    return {
      name: NAME,

      async beginEpoch(ctx) {
        if (first === null) first = ctx.epoch;
        if (!mask || mask.length !== ctx.trainSize) mask = heldOutMask(ctx.trainSize, heldOut, seed);
        const held = mask;
        report = null;
        if ((ctx.epoch - first) % superEpoch === 0) {
          const now = headLosses(await ctx.trainPredictions(), held, ctx.modalities);
          if (measured) weights = blendWeights(measured, now) ?? weights;
          measured = now;
          report = {};
          for (const [k, l] of Object.entries(now)) Object.assign(report, { [`lossTrain_${k}`]: l.train, [`lossHeldOut_${k}`]: l.heldOut });
          const heads = ctx.modalities.length + 1;
          ctx.log(`${NAME}: weights from epoch ${ctx.epoch + 1}: ${[FUSED, ...ctx.modalities].map((k) => `${k} ${weightOf(k, heads).toFixed(3)}`).join(', ')}`);
        }
        return { indices: trainingPart(held) };
      },

      loss(out, batch, ctx) {
        const heads = ctx.modalities.length + 1;
        const logits: [string, Tensor][] = [[FUSED, out.fused], ...ctx.modalities.map((m): [string, Tensor] => [m, out.unimodal[m] as Tensor])];
        const ces = logits.map(([, z]) => nn.F.crossEntropy(z, batch.labels));
        const loss = ces.map((ce, i) => ce.mul(weightOf((logits[i] as [string, Tensor])[0], heads))).reduce((a, b) => a.add(b));
        const logs = readScalars(Object.fromEntries(logits.map(([k], i) => [`ce_${k}`, ces[i] as Tensor])));
        for (const [k] of logits) logs[`w_${k}`] = weightOf(k, heads);
        return { loss, logs };
      },

      async endEpoch() {
        return report ?? undefined;
      },

      state(): MethodState {
        return { json: { first, measured, weights }, tensors: {} };
      },

      loadState(s) {
        const { first: f, measured: m, weights: w } = s.json;
        if (!(f === null || (typeof f === 'number' && Number.isInteger(f) && f >= 0))) throw new Error(`${NAME}: state has no valid "first"`);
        first = f;
        measured = (m ?? null) as Record<string, HeadLosses> | null;
        weights = (w ?? null) as Record<string, number> | null;
        report = null;
      },
    };
  },
});
