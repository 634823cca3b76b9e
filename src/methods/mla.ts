/**
 * MLA: Multimodal Learning with Alternating unimodal adaptation (Zhang, Yang, Zhang et al., CVPR 2024,
 * "Multimodal Representation Learning by Alternating Unimodal Adaptation"; reference code
 * github.com/Cecile-hi/Multimodal-Learning-with-Alternating-Unimodal-Adaptation, main.py (train_epoch
 * and valid with --gs_flag, calculate_gating_weights) and utils/utils.py (GSPlugin); also the MLA
 * trainer of GeWu-Lab/BalanceBenchmark, balancemm/trainer/MLA_trainer.py).
 *
 * Training alternates between the modalities: step t trains modality m = modalities[t mod M] alone,
 * by the cross-entropy of its unimodal logits z^m, so the other encoders get no gradient. The head
 * is shared by all modalities, and its gradient is modified against forgetting (the reference's
 * GSPlugin, an orthogonal-weight-modification projector): with x the head's input for modality m,
 *   r = mean_i x_i,  k = P r,  P <- P - k k^T / (alpha_t + r^T k),  P <- P / ||P||_F,
 *   G <- G P^T   (G the head's gradient, one row per class),
 * alpha_t = projectionAlpha^(1 + batch_index / batches_per_epoch), P = I at the start. As the
 * reference's single GSPlugin, one P collects the mean inputs of every step, of all modalities (the
 * step's own included: P is updated before the projection), so P r is shrunk by
 * alpha_t / (alpha_t + r^T P r) along every stored direction r. The very first step of the run is
 * neither recorded nor projected (the reference's `exp_count != 0`). Note that the Frobenius
 * normalisation also shrinks the whole head gradient, by about 1 / sqrt(D + 1 - rank): the head
 * learns one to two orders of magnitude slower than the encoders (the per-step ratio
 * ||G P|| / ||G|| is logged as head_grad_ratio). At test time the prediction is the uncertainty-
 * weighted fusion of the unimodal logits (the Method's `fuse`, so every evaluation uses it):
 *   e^m_i = -sum_c p^m_ic log p^m_ic,  w^m_i = exp(max_k e^k_i - e^m_i) / sum_j exp(max_k e^k_i - e^j_i),
 *   z_i = sum_m w^m_i z^m_i,   p^m_i = softmax(z^m_i).
 *
 * How the shared head maps onto mmgap's model contract. The reference gives every modality one
 * Linear(D, C) head, fc_out(a) and fc_out(v). With concat fusion our unimodal logits are
 * z^m = W[:, slice_m] f_m + b / M, i.e. the fused head [W | b] applied to the augmented input
 * x^m = [0, ..., f_m, ..., 0, 1/M] (the modality's features in its own slice, zeros elsewhere, 1/M in
 * the bias coordinate). That is the shared head here, and P is a (D + 1) x (D + 1) projector on this
 * input space, D = sum_m D_m, acting on the gradient of [W | b]. The slices W_m are disjoint, so the
 * only parameter the modalities really share is the bias: a step on audio moves b, which shifts the
 * visual logits too. The projection keeps the update orthogonal to the stored inputs of every
 * modality, so it answers an audio step's bias change with a compensating change of the visual
 * slice along the stored visual directions, and leaves the visual logits of those inputs (nearly)
 * unchanged. Other fusions have no head whose input the contract exposes (sum: one head per
 * modality, nothing shared; film/gated: the head sees a hidden vector): the projection needs concat
 * fusion, and says so; `projection: off` trains any fusion.
 *
 * Where we depart from the reference, and why:
 * - Alternation: the reference makes one optimizer step per modality on every batch (audio, then
 *   visual, on the same batch). A Method makes one optimizer step per batch, so steps alternate
 *   across batches instead; with `repeatEpoch` (default) the main stage visits every training
 *   sample M times per epoch (beginEpoch), so each modality still gets about one epoch of data per
 *   epoch, as in the reference, though not exactly every sample (the trainer shuffles the visits).
 * - The projection is dead code in the published reference: GSPlugin compares parameter names with
 *   "module.weight", but it is handed fc_out, whose weight is named "weight", so the branch never
 *   runs. `projection: project` implements what the code evidently intends (P replaces the
 *   gradient; P is Frobenius-normalised, which shrinks the head's gradient by about 1/sqrt(D + 1));
 *   `off` reproduces what the published code actually runs; `add`, the default, is
 *   BalanceBenchmark's variant (the protocol whose MLA numbers the field quotes), which fixes the
 *   name and adds the projected gradient to the plain one, G <- G + G P^T.
 * - The projection acts on the bias too (the reference projects the weight only): in our contract
 *   the bias is the one thing the modalities share.
 * - alpha_t: the reference's batch_index / len(dataloader) is taken as the share of the epoch's
 *   samples already seen (the same for full batches); before the first beginEpoch it is 0. In a
 *   purification fine-tune on a subset the epoch size is taken as the whole training split.
 * - Test-time fusion: the reference's calculate_entropy takes the softmax over dim 0 (across the
 *   batch) and sums the entropy over the whole batch, so one pair of weights serves the batch and a
 *   sample's prediction depends on its batch-mates. We take each sample's entropy over its classes
 *   (the reference's commented-out dim=1 line), so a prediction never depends on the rest of the
 *   batch. `fusion: mean` is the reference's default without --dynamic
 *   (av_alpha = 0.5: the mean of the unimodal logits).
 * - The reference's unimodal logits under --gs_flag carry the whole bias b; ours carry b / M (the
 *   model contract).
 *
 * - The projector is kept in the head's dtype (float32 unless the model is float64).
 * - Data-parallel: r is the mean over the global batch (each rank's feature sums and count, summed
 *   over the ranks) and the head gradient it projects is already averaged over the ranks, so every
 *   rank keeps the 1-process P and applies its update; the share of the epoch counts the global
 *   batches' samples.
 *
 * State for resume: the projector P and the number of steps so far.
 */
import { cat, keep, nn, noGrad, ops, tensor, tidy, type Tensor } from '../torch/index.js';
import type { ModelOutput, MultimodalModel } from '../models/types.js';
import { defineMethod, type MethodState } from './method.js';
import { modalityFeatures, readScalars, unimodalLogits } from './balance-utils.js';

const NAME = 'mla';
const PROJECTIONS = ['project', 'add', 'off'] as const;
const FUSIONS = ['entropy', 'mean'] as const;
export type MlaProjection = (typeof PROJECTIONS)[number];
export type MlaFusion = (typeof FUSIONS)[number];

/** The modality step `step` trains: they take turns in the order given. */
export function trainedModality(modalities: string[], step: number): string {
  if (modalities.length === 0) throw new Error(`${NAME}: no modalities`);
  return modalities[step % modalities.length] as string;
}

/**
 * One update of the projector with the mean input r (the reference's GSPlugin):
 * k = P r, P <- P - k k^T / (alpha + r^T k), then P / ||P||_F.
 */
export function updateProjector(P: Tensor, r: Tensor, alpha: number): Tensor {
  return noGrad(() => {
    const k = ops.mv(P, r);
    const next = P.sub(ops.outer(k, k).div(ops.dot(r, k).add(alpha)));
    return next.div(next.norm());
  });
}

/**
 * Per-sample uncertainty weights of the unimodal predictions, [N, M]:
 * w^m = exp(max_k e^k - e^m) / sum_j exp(max_k e^k - e^j), e^m the entropy of softmax(z^m).
 */
export function entropyWeights(logits: Tensor[]): Tensor {
  const ent = logits.map((z) => z.softmax(1).mul(z.logSoftmax(1)).sum(1).neg());
  // exp(max - e^m) normalised over m is the softmax of -e over the modalities (the max cancels).
  return ops.stack(ent, 1).neg().softmax(1);
}

/** The uncertainty-weighted fusion: sum_m w^m z^m, per sample. */
export function entropyFusion(logits: Tensor[]): Tensor {
  const w = entropyWeights(logits);
  return logits.map((z, m) => z.mul(w.narrow(1, m, 1))).reduce((a, b) => a.add(b));
}

/** The concat head [W | b] and where each modality's features sit in its input. */
interface ConcatHead { weight: Tensor; bias: Tensor; offsets: number[]; dims: number[] }

function concatHead(model: MultimodalModel, out: ModelOutput, modalities: string[]): ConcatHead {
  const dims = modalities.map((m) => modalityFeatures(out, m, NAME).size(1));
  const total = dims.reduce((a, b) => a + b, 0);
  const ps = model.headParameters();
  const weight = ps.find((p) => p.ndim === 2);
  const bias = ps.find((p) => p.ndim === 1);
  const c = model.numClasses;
  const fits = ps.length === 2 && weight && bias && weight.size(0) === c && weight.size(1) === total && bias.size(0) === c;
  if (!fits) {
    throw new Error(`${NAME}: the head-gradient projection needs concat fusion (one linear head [${c} x ${total}] over the concatenated features); ` +
      `this model's head has parameters ${ps.map((p) => `[${p.shape.join(' x ')}]`).join(', ')}. Use option projection: off for other fusions`);
  }
  return { weight, bias, offsets: dims.map((_, i) => dims.slice(0, i).reduce((a, b) => a + b, 0)), dims };
}

/** The head's mean augmented input for modality m, [0, ..., mean f_m, ..., 0, 1/M], in `like`'s dtype and on its device. */
export function meanHeadInput(mean: ArrayLike<number>, offset: number, total: number, numModalities: number, like: Tensor): Tensor {
  const r = new Float64Array(total + 1);
  r.set(Array.from(mean), offset);
  r[total] = 1 / numModalities;
  return tensor(r).to(like.dtype).to(like.device as never);
}

export const mla = defineMethod({
  name: NAME,
  summary: 'MLA (Zhang et al. 2024): modalities trained in turn through a shared head with projected gradients; entropy-weighted fusion at test time',
  options: {
    projection: { type: 'choice', choices: PROJECTIONS, default: 'add', help: 'head gradient: add (G + G P, BalanceBenchmark), project (G P, what the reference code intends), off (what the published code runs)' },
    projectionAlpha: { type: 'number', default: 0.1, min: 0, exclusiveMin: true, help: 'projector regulariser base: alpha_t = projectionAlpha^(1 + share of the epoch done) (reference 0.1)' },
    fusion: { type: 'choice', choices: FUSIONS, default: 'entropy', help: 'test-time fusion of the unimodal logits: entropy (per-sample uncertainty weights) or mean' },
    repeatEpoch: { type: 'boolean', default: true, help: 'main stage: visit each training sample once per modality per epoch (the reference steps on every batch once per modality)' },
  },
  sharedWarmup: false,
  build({ projection, projectionAlpha, fusion, repeatEpoch }) {
    /** The projector P, (D + 1) x (D + 1), once the first projected step has made it. */
    let projector: Tensor | null = null;
    /** Steps so far (the reference's exp_count). */
    let updates = 0;
    /** Samples seen in this epoch, and the epoch's size (null before the first beginEpoch). */
    let seen = 0;
    let epochSize: number | null = null;

    const setProjector = (t: Tensor | null): void => {
      const old = projector;
      projector = t ? keep(t) : null;
      if (old && old !== t) old.dispose();
    };

    /**
     * Projects the head gradient (after backward) and records this step's input direction, from
     * the mean features of the global batch (`mean`), in the head's dtype.
     */
    const project = (out: ModelOutput, m: string, mean: number[], modalities: string[], model: MultimodalModel, alpha: number): Record<string, number> => {
      const head = concatHead(model, out, modalities);
      const i = modalities.indexOf(m);
      const total = head.dims.reduce((a, b) => a + b, 0);
      return tidy(() => noGrad(() => {
        const r = meanHeadInput(mean, head.offsets[i] as number, total, modalities.length, head.weight);
        const P0 = projector ? projector.to(r.dtype).to(r.device as never) : ops.eye(total + 1, r.dtype, null, r.device as never);
        const P = updateProjector(P0, r, alpha);
        setProjector(P);
        const gw = head.weight.grad ?? ops.zeros_like(head.weight);
        const gb = head.bias.grad ?? ops.zeros_like(head.bias);
        const G = cat([gw, gb.unsqueeze(1)], 1);
        const projected = G.matmul(P.t());
        const next = projection === 'add' ? G.add(projected) : projected;
        head.weight.grad = next.narrow(1, 0, total).to(gw.dtype).contiguous();
        head.bias.grad = next.select(1, total).to(gb.dtype).contiguous();
        return readScalars({ head_grad_ratio: next.norm().div(G.norm().clamp(1e-12)) });
      }));
    };

    return {
      name: NAME,

      async beginEpoch(ctx) {
        seen = 0;
        const repeat = repeatEpoch && ctx.stage === 'main';
        epochSize = ctx.trainSize * (repeat ? ctx.modalities.length : 1);
        if (!repeat) return;
        const n = ctx.trainSize;
        const indices = new Int32Array(n * ctx.modalities.length);
        for (let j = 0; j < indices.length; j++) indices[j] = j % n;
        return { indices };
      },

      loss(out, batch, ctx) {
        const m = trainedModality(ctx.modalities, ctx.step);
        const loss = nn.F.crossEntropy(unimodalLogits(out, m, NAME), batch.labels);
        const others = noGrad(() => Object.fromEntries(ctx.modalities.filter((o) => o !== m)
          .map((o) => [`ce_${o}`, nn.F.crossEntropy(unimodalLogits(out, o, NAME), batch.labels)])));
        return { loss, logs: readScalars({ [`ce_${m}`]: loss, ...others }) };
      },

      beforeStep(out, batch, ctx) {
        const m = trainedModality(ctx.modalities, ctx.step);
        const share = epochSize ? Math.min(seen / epochSize, 1) : 0;
        const alpha = projectionAlpha ** (1 + share);
        updates++;
        if (projection === 'off') {
          seen += batch.size;
          return {};
        }
        // The global batch's feature sums and size (this rank's slice's, summed over the ranks).
        const local = tidy(() => noGrad(() => Array.from(modalityFeatures(out, m, NAME).detach().sum(0).toFloat64Array())));
        const sums = ctx.allReduceSum([...local, batch.size]);
        const n = sums.pop() as number;
        seen += n;
        // The first step is not projected: its ratio is 1 (so that epoch means count every step).
        return updates > 1 ? project(out, m, sums.map((v) => v / n), ctx.modalities, ctx.model, alpha) : { head_grad_ratio: 1 };
      },

      fuse(out, ctx) {
        const logits = ctx.modalities.map((m) => unimodalLogits(out, m, NAME));
        return fusion === 'entropy' ? entropyFusion(logits) : logits.reduce((a, b) => a.add(b)).div(logits.length);
      },

      state(): MethodState {
        return { json: { updates }, tensors: projector ? { projector } : {} };
      },

      loadState(s) {
        const u = s.json.updates;
        if (typeof u !== 'number' || !Number.isInteger(u) || u < 0) throw new Error(`${NAME}: state has no valid "updates"`);
        const extra = Object.keys(s.tensors).filter((k) => k !== 'projector');
        if (extra.length) throw new Error(`${NAME}: unexpected state tensor "${extra[0]}"`);
        const p = s.tensors.projector;
        setProjector(p ? noGrad(() => p.detach().clone()) : null);
        updates = u;
      },
    };
  },
});
