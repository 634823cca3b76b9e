/**
 * ReconBoost (Hua, Xu, Bao, Yang & Huang, ICML 2024, "ReconBoost: Boosting Can Achieve Modality
 * Reconcilement", arXiv 2405.09321; reference code github.com/huacong/ReconBoost, train.py,
 * schedule.py and models/dynamic_net.py; the same losses in the ReconBoost trainer of
 * GeWu-Lab/BalanceBenchmark, balancemm/trainer/ReconBoost_trainer.py).
 *
 * Modality-alternating boosting. The learner of modality m is its unimodal logits z^m (model
 * contract, docs/METHOD.md §1); the ensemble is F = sum_m z^m. Training runs in stages; stage s belongs to
 * the learner m_s = modalities[s mod M] (the reference's fixed schedule: audio, visual, audio, ...)
 * and lasts `stageEpochs + rectifyEpochs` epochs:
 * - boosting (`stageEpochs` epochs): only learner m_s trains; the others are frozen (their logits
 *   enter detached, so their encoders get no gradient at all). Per sample, with C classes,
 *   p = softmax(z^m) and q = softmax(F^{-m}), F^{-m} = sum_{m' != m} z^{m'} the ensemble of the
 *   other learners (detached):
 *     L_boost = -(1/C) sum_k y_k [w1 log p_k - w2 q_k log p_k] = -(w1 - w2 q_y) / C * log p_y,
 *   averaged over the batch (the 1/C is the reference's mean over classes). Up to a term constant
 *   in z^m this is (1/C) [w1 CE(y, p) - w2 KL(y * q || p)]: the KL-based reconcilement regulariser
 *   pushes the new learner away from what the others already predict, so a sample the others get
 *   right (q_y near 1) weighs (w1 - w2) / C and one they miss w1 / C - Friedman's gradient
 *   boosting on the ensemble's residual, as the paper shows.
 *   From stage 1 on, the reference's `ga_loss` (weight alpha), which we read as the paper's
 *   memory-consolidation regulariser, is added:
 *     L = L_boost + alpha * mean_{i,k} (p_ik - p'_ik)^2,   p' = softmax(z^{m_{s-1}}) (detached),
 *   the learner of the previous stage. Since d CE / d z = softmax(z) - y, this is the squared
 *   distance between the two learners' cross-entropy gradients in logit space.
 * - global rectification (`rectifyEpochs` epochs): every parameter trains on CE(y, F), the
 *   cross-entropy of the ensemble (the reference's phase 2, `forward_grad`).
 * The prediction is the ensemble F. For concat fusion F = out.fused exactly (each z^m carries its
 * slice of the fused head and bias / M), and for sum fusion too; `fuse` returns F so that with a
 * non-linear fusion (film, gated), where out.fused is not the sum of the learners, the run still
 * predicts with the ensemble it boosted.
 *
 * Defaults are the reference's CREMA-D command (README) and train.py's defaults: epochs_per_stage
 * 4, correct_epoch 4, weight1 5 (the README uses 4 for AVE and ModelNet40), weight2 1, alpha 0.5.
 *
 * Where we depart from the reference, and why:
 * - The consolidation term: the reference computes MSE(softmax(z^m).detach(), softmax(z').detach()),
 *   both sides detached, so the term adds a constant and no gradient (BalanceBenchmark copies
 *   this): as written it does nothing. We let its gradient reach the current learner (the previous
 *   learner stays detached); alpha = 0 gives the reference's (gradient-free) behaviour of the term.
 * - Learners: the reference gives each modality its own encoder and, with `common_space`, one
 *   shared two-layer head (512-256-C) applied to each modality's features. Here the learners are
 *   the model contract's unimodal logits (for concat: the encoder plus its slice of the linear
 *   fused head, with bias / M). The head's slices of the frozen modalities get a zero gradient
 *   while another learner trains, so they move only by the optimizer's momentum and weight decay;
 *   the shared bias trains with every learner (as the reference's shared head does).
 * - Optimizer: the reference builds a fresh SGD (momentum 0.9, weight decay 5e-4) for each phase,
 *   with its own learning rates (m_lr, e_lr, both 0.01), and divides them by 10 every 30 stages on
 *   CREMA-D. Here the run's one optimizer and learning-rate schedule serve all phases (momentum
 *   carries over between phases): a method does not own the optimizer.
 * - Boost rate: the reference scales the ensemble by a learnable scalar (initialised at 1, trained
 *   in the rectification phase). It is fixed at 1 here: the model contract has no place for an
 *   extra parameter, and a positive scale does not change the ensemble's argmax.
 * - Stage 0: without `--use_pretrain` the reference boosts the first learner against a constant
 *   ensemble (q = 1); with it (the README's commands) the others are the pretrained unimodal
 *   models. Here the model always holds every learner, so stage 0 boosts against the other
 *   (untrained) learners, as the pretrained path does.
 * - With M > 2 modalities the schedule cycles through them in order and the consolidation term
 *   uses the previous stage's learner (the reference's schedule and pre_model for two).
 * - An epoch here is one pass of the trainer; the reference's stage runs its own inner epochs.
 *   The schedule counts the method's own epochs (the first epoch it is given is stage 0), so a
 *   fine-tuning stage that builds a fresh instance starts a new boosting cycle.
 */
import { nn, noGrad, type Tensor } from '../torch/index.js';
import type { ModelOutput } from '../models/types.js';
import { defineMethod, type MethodState } from './method.js';
import { readScalars, unimodalLogits } from './balance-utils.js';

const NAME = 'reconboost';

export type ReconPhase = 'boost' | 'rectify';

/** What one epoch of the schedule trains. */
export interface ReconTurn {
  /** 0-based stage. */
  stage: number;
  phase: ReconPhase;
  /** The modality whose learner owns the stage. */
  learner: string;
  /** The learner of the previous stage (null in stage 0): the consolidation term's reference. */
  previous: string | null;
}

/** The turn of the method's `k`-th epoch (0-based): stage k / (stageEpochs + rectifyEpochs), boosting first. */
export function reconSchedule(k: number, modalities: string[], stageEpochs: number, rectifyEpochs: number): ReconTurn {
  if (modalities.length < 2) throw new Error(`${NAME}: needs at least 2 modalities, got ${modalities.join(', ') || 'none'}`);
  const per = stageEpochs + rectifyEpochs;
  const stage = Math.floor(k / per);
  const m = modalities.length;
  return {
    stage,
    phase: k - stage * per < stageEpochs ? 'boost' : 'rectify',
    learner: modalities[stage % m] as string,
    previous: stage > 0 ? (modalities[(stage - 1) % m] as string) : null,
  };
}

/**
 * The boosting loss of a learner against the (detached) ensemble of the others:
 * mean_i -(w1 - w2 q_i[y_i]) / C * log softmax(z_i)[y_i], q = softmax(others).
 */
export function boostingLoss(learner: Tensor, others: Tensor, labels: Tensor, weight1: number, weight2: number): Tensor {
  const y = labels.unsqueeze(1);
  const logp = learner.logSoftmax(1).gather(1, y).squeeze(1);
  const q = noGrad(() => others.detach().softmax(1).gather(1, y).squeeze(1));
  return logp.mul(q.mul(-weight2).add(weight1)).mean().div(-learner.size(1));
}

/** The memory-consolidation term: mean over samples and classes of (softmax(z) - softmax(previous))^2, previous detached. */
export function consolidationLoss(learner: Tensor, previous: Tensor): Tensor {
  return nn.F.mseLoss(learner.softmax(1), previous.detach().softmax(1));
}

/** The ensemble F = sum_m z^m. */
export function ensembleLogits(out: ModelOutput, modalities: string[]): Tensor {
  return modalities.map((m) => unimodalLogits(out, m, NAME)).reduce((a, b) => a.add(b));
}

export const reconboost = defineMethod({
  name: NAME,
  summary: 'ReconBoost (Hua et al. 2024): modalities trained in turn on the ensemble\'s residual (KL reconcilement), then the ensemble rectified',
  options: {
    stageEpochs: { type: 'number', integer: true, default: 4, min: 1, help: 'epochs one learner trains alone per stage (the reference\'s epochs_per_stage)' },
    rectifyEpochs: { type: 'number', integer: true, default: 4, min: 0, help: 'epochs of global rectification (CE of the ensemble, all parameters) after each stage; 0: none' },
    weight1: { type: 'number', default: 5, min: 0, exclusiveMin: true, help: 'w1: weight of the learner\'s own cross-entropy (reference: 5 on CREMA-D, 4 on AVE)' },
    weight2: { type: 'number', default: 1, min: 0, help: 'w2: weight of the KL reconcilement against the other learners\' ensemble' },
    alpha: { type: 'number', default: 0.5, min: 0, help: 'weight of the memory-consolidation term toward the previous stage\'s learner' },
  },
  sharedWarmup: false,
  check: (o) => (o.weight2 > o.weight1
    ? `option weight2 (${o.weight2}) must not exceed weight1 (${o.weight1}): a sample's boosting weight w1 - w2 q_y must stay >= 0`
    : null),
  build({ stageEpochs, rectifyEpochs, weight1, weight2, alpha }) {
    /** Epochs of the schedule begun so far. */
    let epochs = 0;
    /** The turn of the current epoch (set by beginEpoch). */
    let turn: ReconTurn | null = null;

    return {
      name: NAME,

      async beginEpoch(ctx) {
        turn = reconSchedule(epochs, ctx.modalities, stageEpochs, rectifyEpochs);
        const offset = epochs - turn.stage * (stageEpochs + rectifyEpochs);
        if (offset === 0) ctx.log(`${NAME}: stage ${turn.stage}: boosting the ${turn.learner} learner for ${stageEpochs} epochs`);
        else if (offset === stageEpochs) ctx.log(`${NAME}: stage ${turn.stage}: global rectification for ${rectifyEpochs} epochs`);
        epochs++;
      },

      loss(out, batch, ctx) {
        const t = turn ?? reconSchedule(epochs, ctx.modalities, stageEpochs, rectifyEpochs);
        const y = batch.labels;
        if (t.phase === 'rectify') {
          const ce = nn.F.crossEntropy(ensembleLogits(out, ctx.modalities), y);
          return { loss: ce, logs: readScalars({ ce }) };
        }
        const z = unimodalLogits(out, t.learner, NAME);
        const others = noGrad(() => ctx.modalities.filter((m) => m !== t.learner).map((m) => unimodalLogits(out, m, NAME).detach()).reduce((a, b) => a.add(b)));
        const boost = boostingLoss(z, others, y, weight1, weight2);
        if (t.previous === null || alpha === 0) return { loss: boost, logs: readScalars({ boost }) };
        const consolidation = consolidationLoss(z, unimodalLogits(out, t.previous, NAME));
        return { loss: boost.add(consolidation.mul(alpha)), logs: readScalars({ boost, consolidation }) };
      },

      async endEpoch() {
        if (!turn) return;
        return { stage: turn.stage, phase: turn.phase, learner: turn.learner };
      },

      fuse: (out, ctx) => ensembleLogits(out, ctx.modalities),

      state(): MethodState {
        return { json: { epochs }, tensors: {} };
      },

      loadState(s) {
        const e = s.json.epochs;
        if (typeof e !== 'number' || !Number.isInteger(e) || e < 0) throw new Error(`${NAME}: state has no valid "epochs"`);
        epochs = e;
        turn = null;
      },
    };
  },
});
