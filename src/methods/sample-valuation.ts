/**
 * Sample-level modality valuation (Wei et al., CVPR 2024, "Enhancing Multimodal Cooperation via
 * Sample-level Modality Valuation"; reference code
 * github.com/GeWu-Lab/Valuate-and-Enhance-Multimodal-Cooperation, code/sample_level.py and
 * code/datasets/dataloader.py).
 *
 * Sample-level modality valuation: each modality's contribution to each training sample is its Shapley value
 * for the value function v(S) = |S| if the prediction from the modalities in S is correct, else 0
 * (v(empty) = 0; the reference's values: 1 for one modality, 2 for both). With two modalities,
 *   phi_a = 1/2 [v({a}) - v({})] + 1/2 [v({a, v}) - v({v})],  likewise phi_v,
 * so phi is in {-0.5, 0, 0.5, 1, 1.5} and phi_a + phi_v = v({a, v}). The predictions are those of
 * an eval-mode pass over the training split: v({m}) from the unimodal logits, v({a, v}) from the
 * fused ones.
 *
 * Sample-level re-sampling: after `warmup` epochs of plain training, every epoch (every
 * `interval` epochs) the contributions are re-valued and a sample whose modality m contributes
 * little gets extra copies trained on m alone: 3 copies if phi_m = -0.5, 2 if 0, 1 if 0.5, none
 * if phi_m >= 1 (the reference's thresholds). The epoch visits every sample once plus its extra
 * copies (beginEpoch returns the indices with repeats); the loss of a sample's first visit in the
 * epoch is the fused cross-entropy, that of a later visit the cross-entropy of the copy's modality
 * alone (its unimodal logits), so the other encoder gets no gradient from it - as the reference,
 * which zeroes the other modality's features. The copies of a sample are interchangeable, so which
 * visit plays which copy does not matter.
 *
 * Difference from the reference: for concat fusion its single-modality prediction is the fused head
 * with the other features zeroed, W_m f_m + b; the model contract's unimodal logits use b / 2.
 * The Shapley value needs predictions for every subset of modalities, and the model contract gives
 * only the single-modality and the full ones: the method takes exactly two modalities.
 */
import { nn, tensor, type Tensor } from '../torch/index.js';
import { argmaxRows } from '../core/index.js';
import { defineMethod, type MethodState, type SplitPredictions } from './method.js';

const NAME = 'sample-valuation';

/** Shapley values [phi_1, phi_2] of two modalities for one sample, from which predictions are correct. */
export function shapley2(fusedCorrect: boolean, firstCorrect: boolean, secondCorrect: boolean): [number, number] {
  const vBoth = fusedCorrect ? 2 : 0;
  const v1 = firstCorrect ? 1 : 0;
  const v2 = secondCorrect ? 1 : 0;
  return [(v1 + vBoth - v2) / 2, (v2 + vBoth - v1) / 2];
}

/** Per-sample Shapley values of each of two modalities, row-aligned with the predictions. */
export function sampleShapley(preds: SplitPredictions, modalities: string[]): Record<string, Float32Array> {
  if (modalities.length !== 2) {
    throw new Error(`${NAME}: needs exactly 2 modalities (the Shapley value needs a prediction for every subset), got ${modalities.join(', ')}`);
  }
  const [a, b] = modalities as [string, string];
  const pa = preds.unimodal[a];
  const pb = preds.unimodal[b];
  if (!pa || !pb) throw new Error(`${NAME}: the predictions have no unimodal probabilities for "${pa ? b : a}"`);
  const n = preds.labels.length;
  const c = preds.numClasses;
  const [fused, first, second] = [preds.fused, pa, pb].map((p) => argmaxRows(p, c)) as [Int32Array, Int32Array, Int32Array];
  const phiA = new Float32Array(n);
  const phiB = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = preds.labels[i] as number;
    [phiA[i], phiB[i]] = shapley2(fused[i] === y, first[i] === y, second[i] === y);
  }
  return { [a]: phiA, [b]: phiB };
}

/** Extra single-modality copies for a modality contributing phi (reference thresholds). */
export function resampleCopies(phi: number): number {
  return phi < -0.1 ? 3 : phi < 0.4 ? 2 : phi < 0.9 ? 1 : 0;
}

export const sampleValuation = defineMethod({
  name: NAME,
  summary: 'sample-level modality valuation (Wei et al. 2024): per-sample Shapley contributions, low-contributing modalities re-sampled alone',
  options: {
    warmup: { type: 'number', integer: true, default: 5, min: 0, help: 'epochs of plain fused cross-entropy before the first valuation' },
    interval: { type: 'number', integer: true, default: 1, min: 1, help: 're-value the contributions every this many epochs' },
  },
  build({ warmup, interval }) {

    /** Extra copies per modality, by training-split index; null during the warm-up. */
    let copies: Record<string, Uint8Array> | null = null;
    /** Visits of each training sample so far in this epoch. */
    let visits = new Uint16Array(0);

    return {
      name: NAME,

      async beginEpoch(ctx) {
        visits = new Uint16Array(ctx.trainSize);
        if (ctx.epoch < warmup) {
          copies = null;
          return;
        }
        if (!copies || (ctx.epoch - warmup) % interval === 0) {
          const preds = await ctx.trainPredictions();
          const phi = sampleShapley(preds, ctx.modalities);
          const next: Record<string, Uint8Array> = {};
          const parts: string[] = [];
          for (const m of ctx.modalities) {
            const ph = phi[m] as Float32Array;
            const k = (next[m] = new Uint8Array(ctx.trainSize));
            ph.forEach((v, r) => { k[preds.index[r] as number] = resampleCopies(v); });
            parts.push(`${m} mean contribution ${(ph.reduce((s, v) => s + v, 0) / Math.max(ph.length, 1)).toFixed(3)}, +${k.reduce((s, v) => s + v, 0)} ${m}-only copies`);
          }
          copies = next;
          ctx.log(`${NAME}: epoch ${ctx.epoch}: ${parts.join('; ')}`);
        }
        const plan = copies;
        const extra = ctx.modalities.reduce((s, m) => s + (plan[m] as Uint8Array).reduce((t, v) => t + v, 0), 0);
        const indices = new Int32Array(ctx.trainSize + extra);
        let at = 0;
        for (let i = 0; i < ctx.trainSize; i++) {
          indices[at++] = i;
          for (const m of ctx.modalities) for (let k = (plan[m] as Uint8Array)[i] as number; k > 0; k--) indices[at++] = i;
        }
        return { indices };
      },

      loss(out, batch, ctx) {
        const y = batch.labels;
        if (!copies) return { loss: nn.F.crossEntropy(out.fused, y) };
        // Which logits each position trains: visit 0 of a sample is the multimodal one, visit k >= 1 its k-th copy.
        const roles = ['fused', ...ctx.modalities];
        const masks = roles.map(() => new Float32Array(batch.size));
        for (let j = 0; j < batch.size; j++) {
          const i = batch.index[j] as number;
          let copy = (visits[i] as number) - 1;
          visits[i] = Math.min((visits[i] as number) + 1, 0xffff);
          let role = 0;
          if (copy >= 0) {
            for (const [r, m] of ctx.modalities.entries()) {
              const k = (copies[m] as Uint8Array)[i] as number;
              if (copy < k) { role = r + 1; break; }
              copy -= k;
            }
          }
          (masks[role] as Float32Array)[j] = 1;
        }
        const logits = [out.fused, ...ctx.modalities.map((m) => out.unimodal[m])];
        const terms: Tensor[] = [];
        masks.forEach((mask, r) => {
          if (!mask.includes(1)) return;
          const z = logits[r];
          if (!z) throw new Error(`${NAME}: the model gave no unimodal logits for "${roles[r]}"`);
          terms.push(nn.F.crossEntropy(z, y, { reduction: 'none' }).mul(tensor(mask).to(z.device as never)).sum());
        });
        const unimodalShare = 1 - (masks[0] as Float32Array).reduce((s, v) => s + v, 0) / batch.size;
        return { loss: terms.reduce((a, b) => a.add(b)).div(batch.size), logs: { unimodalShare } };
      },

      state(): MethodState {
        return {
          json: {
            copies: copies ? Object.fromEntries(Object.entries(copies).map(([m, k]) => [m, Array.from(k)])) : null,
            visits: Array.from(visits),
          },
          tensors: {},
        };
      },

      loadState(s) {
        const { copies: c, visits: v } = s.json;
        const isCounts = (x: unknown): x is number[] => Array.isArray(x) && x.every((e) => Number.isInteger(e) && e >= 0);
        if (!isCounts(v)) throw new Error(`${NAME}: state has no valid "visits"`);
        if (c !== null && (typeof c !== 'object' || !Object.values(c as object).every(isCounts))) throw new Error(`${NAME}: state has no valid "copies"`);
        copies = c === null ? null : Object.fromEntries(Object.entries(c as Record<string, number[]>).map(([m, k]) => [m, Uint8Array.from(k)]));
        visits = Uint16Array.from(v);
      },
    };
  },
});
