/**
 * PMR: Prototypical Modal Rebalance (Fan et al., CVPR 2023, "PMR: Prototypical Modal Rebalance for
 * Multimodal Learning"; reference code github.com/fanyunfeng-bit/Modal-Imbalance-PMR,
 * main_Prototype_grad.py, and the PMR trainer of GeWu-Lab/BalanceBenchmark, which adds the clipped
 * coefficient and the entropy term the original code lacks).
 *
 * - Prototypes: per modality, the class centroids c_k of the encoder features of the training
 *   samples, carried over epochs with momentum: c <- (1 - momentum) * centroid + momentum * c.
 * - Prototype logits -d(f, c_k), d the Euclidean distance (the reference's; `distance: squared`
 *   uses its square): their softmax is a non-parametric unimodal classifier.
 * - PCE, the prototypical cross-entropy: the cross-entropy of the prototype logits.
 * - Imbalance ratio: s_m = sum_i softmax(-d(f^m_i, c^m))[y_i] over the batch, rho_m = s_dom / s_m
 *   for every modality m weaker than the dominant one, dom.
 * - Loss: CE(fused) + alpha * sum_m beta_m * PCE_m - mu * max_m beta_m * PER_dom, with
 *   beta_m = clip(rho_m - 1, 0, 1): the slow-learning modality is pulled toward its prototypes in
 *   proportion to how far it lags. PER, the prototypical entropy regularisation, is the entropy of
 *   the dominant modality's prototype softmax (summed over the batch, as the reference); maximising
 *   it during the first `perEpochs` epochs of modulation keeps the dominant modality from
 *   converging prematurely. Both terms apply in epochs modulationStarts <= epoch <= modulationEnds
 *   (inclusive, as the reference).
 * - Defaults: BalanceBenchmark's PMR configuration (alpha 0.6, momentum 0.2, mu 0.01, 10 PER epochs,
 *   modulation in epochs 0-80). The original code used alpha 1 with an unclipped constant coefficient.
 *
 * Prototypes, and what differs from the reference: the reference recomputes the centroids after
 * each epoch in an extra eval-mode pass over a tenth of the training set (and once with the initial
 * model before training). A method here sees the data only through its training batches, so the
 * centroids are accumulated from the (detached) features of the epoch's training batches and folded
 * into the prototypes at the end of the epoch. In the first epoch, before any fold, the running
 * class means of the batches seen so far serve as prototypes (the PMR terms wait until every class
 * has been seen). The dominant modality is the one with the higher prototype score (BalanceBenchmark
 * picks it for PER by the lower unimodal loss).
 *
 * Data-parallel: the class sums and counts and the scores s_m are the global batch's (each rank's,
 * summed over the ranks: StepContext.allReduceSum), so every rank keeps the 1-process prototypes
 * and coefficients; the batch-summed PER term is scaled by the global batch size over the rank's,
 * so that the ranks' averaged gradient is that of the global batch's sum.
 */
import { nn, noGrad, ops, tensor, tidy, keep, type Tensor } from '../torch/index.js';
import type { ModelOutput } from '../models/types.js';
import { defineMethod, type MethodState } from './method.js';
import { modalityFeatures, readScalars, trueClassScore } from './balance-utils.js';

const NAME = 'pmr';
const DISTANCES = ['euclidean', 'squared'] as const;
export type PrototypeDistance = (typeof DISTANCES)[number];

/** Prototype logits -d(f_i, c_k), [N, C]. (cdist's gradient is 0, not NaN, where a distance is 0.) */
export function prototypeLogits(features: Tensor, prototypes: Tensor, distance: PrototypeDistance = 'euclidean'): Tensor {
  const d = ops.cdist(features, prototypes, 2);
  return (distance === 'squared' ? d.square() : d).neg();
}

export interface PmrBalance {
  /** The modality with the highest prototype score. */
  dominant: string;
  /** beta_m = clip(s_dominant / s_m - 1, 0, 1); 0 for the dominant modality. */
  beta: Record<string, number>;
}

/** The rebalancing coefficients from the per-batch prototype scores s_m. */
export function pmrBalance(scores: Record<string, number>): PmrBalance {
  const names = Object.keys(scores);
  if (names.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${names.join(', ') || 'none'}`);
  const dominant = names.reduce((a, b) => ((scores[b] as number) > (scores[a] as number) ? b : a));
  const top = scores[dominant] as number;
  const beta = Object.fromEntries(names.map((m) => [m, m === dominant ? 0 : Math.min(1, Math.max(0, top / (scores[m] as number) - 1))]));
  return { dominant, beta };
}

/** Entropy of softmax(logits), summed over classes and over the batch. */
function batchEntropy(logits: Tensor): Tensor {
  return logits.softmax(1).mul(logits.logSoftmax(1)).sum().neg();
}

export const pmr = defineMethod({
  name: NAME,
  summary: 'PMR (Fan et al. 2023): prototype cross-entropy for the lagging modality, prototype entropy for the dominant one early on',
  options: {
    alpha: { type: 'number', default: 0.6, min: 0, help: 'weight of the prototypical cross-entropy of the lagging modality' },
    momentum: { type: 'number', default: 0.2, min: 0, max: 1, help: 'prototype momentum across epochs: c <- (1 - momentum) centroid + momentum c' },
    mu: { type: 'number', default: 0.01, min: 0, help: 'weight of the prototypical entropy regularisation of the dominant modality' },
    perEpochs: { type: 'number', integer: true, default: 10, min: 0, help: 'epochs (from modulationStarts) with the entropy regularisation' },
    modulationStarts: { type: 'number', integer: true, default: 0, min: 0, help: 'first epoch (0-based) of the PMR terms' },
    modulationEnds: { type: 'number', integer: true, default: 80, min: 0, help: 'last epoch (0-based, inclusive) of the PMR terms' },
    distance: { type: 'choice', choices: DISTANCES, default: 'euclidean', help: 'prototype distance: euclidean (reference) or squared' },
  },
  check: (o) => (o.modulationEnds < o.modulationStarts ? `option modulationEnds (${o.modulationEnds}) must not be before modulationStarts (${o.modulationStarts})` : null),
  build({ alpha, momentum, mu, perEpochs, modulationStarts: starts, modulationEnds: ends, distance }) {
    /** Prototypes [C, D] per modality (after the first epoch). */
    const prototypes = new Map<string, Tensor>();
    /** This epoch's per-class feature sums [C, D] per modality, and the per-class sample counts. */
    const sums = new Map<string, Tensor>();
    let counts = new Float64Array(0);

    const replace = (map: Map<string, Tensor>, m: string, t: Tensor): void => {
      const old = map.get(m);
      map.set(m, keep(t));
      if (old && old !== t) old.dispose();
    };

    /**
     * Adds the global batch's detached features to the class sums, and returns the global batch's
     * size: this rank's per-class sums and counts, summed over the ranks (resumed state may sit on
     * another device).
     */
    const accumulate = (out: ModelOutput, labels: Tensor, modalities: string[], numClasses: number, allReduceSum: (v: number[]) => number[]): number => {
      if (counts.length !== numClasses) counts = new Float64Array(numClasses);
      const local = new Array<number>(numClasses).fill(0);
      for (const y of labels.toArray()) local[y] = (local[y] as number) + 1;
      const dims = modalities.map((m) => modalityFeatures(out, m, NAME).size(1));
      const batchSums = tidy(() => noGrad(() => modalities.flatMap((m) => {
        const f = modalityFeatures(out, m, NAME);
        return Array.from(ops.index_add(ops.new_zeros(f, [numClasses, f.size(1)]), 0, labels, f.detach()).toFloat64Array());
      })));
      const all = allReduceSum([...local, ...batchSums]);
      all.slice(0, numClasses).forEach((c, k) => { counts[k] = (counts[k] as number) + c; });
      let at = numClasses;
      tidy(() => noGrad(() => {
        modalities.forEach((m, i) => {
          const f = modalityFeatures(out, m, NAME);
          const d = dims[i] as number;
          const s = sums.get(m);
          if (!s || s.device !== f.device) replace(sums, m, s ? s.to(f.device as never) : ops.new_zeros(f, [numClasses, d]));
          const sum = sums.get(m) as Tensor;
          sum.add_(tensor(Float64Array.from(all.slice(at, at + numClasses * d)), [numClasses, d]).to(sum.dtype).to(sum.device as never));
          at += numClasses * d;
          const p = prototypes.get(m);
          if (p && p.device !== f.device) replace(prototypes, m, p.to(f.device as never));
        });
      }));
      return all.slice(0, numClasses).reduce((a, b) => a + b, 0);
    };

    /** The prototypes to use now: the folded ones, else (first epoch) the running class means, once every class has been seen. */
    const current = (m: string): Tensor | null => {
      const p = prototypes.get(m);
      if (p) return p;
      if (counts.some((c) => c === 0)) return null;
      const s = sums.get(m) as Tensor;
      return s.div(tensor(Float32Array.from(counts), [counts.length, 1]).to(s.device as never));
    };

    return {
      name: NAME,

      loss(out, batch, ctx) {
        const y = batch.labels;
        const ce = nn.F.crossEntropy(out.fused, y);
        const total = accumulate(out, y, ctx.modalities, ctx.numClasses, ctx.allReduceSum);
        const protos = starts <= ctx.epoch && ctx.epoch <= ends ? ctx.modalities.map((m) => current(m)) : [null];
        if (protos.some((p) => p === null)) return { loss: ce, logs: readScalars({ ce }) };

        const logits = ctx.modalities.map((m, i) => prototypeLogits(modalityFeatures(out, m, NAME), protos[i] as Tensor, distance));
        const pce = logits.map((z) => nn.F.crossEntropy(z, y));
        const read = readScalars({
          ce,
          ...Object.fromEntries(ctx.modalities.map((m, i) => [`pce_${m}`, pce[i] as Tensor])),
          ...Object.fromEntries(ctx.modalities.map((m, i) => [`score_${m}`, trueClassScore(logits[i] as Tensor, y)])),
        });
        // The scores of the global batch (this rank's sums, summed over the ranks).
        const scores = ctx.allReduceSum(ctx.modalities.map((m) => read[`score_${m}`] as number));
        const { dominant, beta } = pmrBalance(Object.fromEntries(ctx.modalities.map((m, i) => [m, scores[i] as number])));

        let loss = ce;
        const logs: Record<string, number> = { ce: read.ce as number };
        ctx.modalities.forEach((m, i) => {
          const b = beta[m] as number;
          if (b > 0 && alpha > 0) loss = loss.add((pce[i] as Tensor).mul(alpha * b));
          logs[`pce_${m}`] = read[`pce_${m}`] as number;
          logs[`beta_${m}`] = b;
        });
        const bMax = Math.max(...Object.values(beta));
        if (ctx.epoch < starts + perEpochs && mu > 0 && bMax > 0) {
          // A sum over the batch: this rank's share of the global batch's sum, scaled by the
          // global size over this rank's, so that the ranks' average gradient is the sum's.
          const per = batchEntropy(logits[ctx.modalities.indexOf(dominant)] as Tensor);
          loss = loss.sub(per.mul(mu * bMax * (total / batch.size)));
        }
        return { loss, logs };
      },

      // Fold this epoch's centroids into the prototypes (momentum across epochs), then start new sums.
      async endEpoch() {
        if (counts.every((c) => c === 0)) return;
        const seen = Float32Array.from(counts, (c) => (c > 0 ? 1 : 0));
        tidy(() => noGrad(() => {
          for (const [m, s] of sums) {
            const n = tensor(Float32Array.from(counts, (c) => Math.max(c, 1)), [counts.length, 1]).to(s.device as never);
            const centroid = s.div(n);
            const old = prototypes.get(m);
            const mask = tensor(seen, [seen.length, 1]).to(s.device as never).gt(0);
            replace(prototypes, m, old ? ops.where(mask, centroid.mul(1 - momentum).add(old.mul(momentum)), old) : centroid);
            s.zero_();
          }
        }));
        counts.fill(0);
        return { prototypeClasses: seen.reduce((a, b) => a + b, 0) };
      },

      state(): MethodState {
        const tensors: Record<string, Tensor> = {};
        for (const [m, t] of prototypes) tensors[`prototype.${m}`] = t;
        for (const [m, t] of sums) tensors[`sum.${m}`] = t;
        return { json: { counts: Array.from(counts) }, tensors };
      },

      loadState(s) {
        const c = s.json.counts;
        if (!Array.isArray(c) || !c.every((v) => typeof v === 'number' && v >= 0)) throw new Error(`${NAME}: state has no valid "counts"`);
        for (const map of [prototypes, sums]) {
          for (const t of map.values()) t.dispose();
          map.clear();
        }
        for (const [key, t] of Object.entries(s.tensors)) {
          const [, kind, m] = /^(prototype|sum)\.(.+)$/.exec(key) ?? [];
          if (!kind || !m) throw new Error(`${NAME}: unexpected state tensor "${key}"`);
          (kind === 'prototype' ? prototypes : sums).set(m, keep(t.clone()));
        }
        counts = Float64Array.from(c as number[]);
      },
    };
  },
});
