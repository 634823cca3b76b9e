/**
 * UMT: Uni-Modal Teacher (Du, Teng, Li, Liu, Yuan, Wang, Yuan & Zhao, ICML 2023, "On Uni-Modal
 * Feature Learning in Supervised Multi-Modal Learning", arXiv 2305.01233; the UMT trainer of
 * GeWu-Lab/BalanceBenchmark, balancemm/trainer/UMT_trainer.py, for the loss as benchmarked).
 *
 * Joint training under-learns the uni-modal features of the weaker modality. UMT first trains each
 * modality alone (the uni-modal teachers), then trains a fresh multimodal network with the fused
 * cross-entropy plus a distillation of every teacher's encoder features into the student's:
 *   L = CE(fused, y) + alpha * sum_m MSE(f^m_student, f^m_teacher),
 * MSE the mean over the batch and the feature dimensions (torch's MSELoss, as BalanceBenchmark).
 *
 * How the run obtains the teachers: UMT trains them itself, in the first epochs of its run. Of the
 * training stage's N epochs (the run's --epochs), the first T = round(teacherShare * N) (at least 1,
 * at most N - 1) train the teachers: every encoder on the cross-entropy of its own unimodal logits
 * (the unimodal-ensemble loss, so no modality's gradient reaches another's encoder; for concat
 * fusion they share only the head's bias / M). These epochs are not eligible as the run's selected
 * epoch (Method.selectable). At the start of epoch T the teachers' eval-mode features of every
 * training sample are computed once (EpochContext.trainPredictions with features) and kept, and
 * the whole model (encoders, head, BatchNorm statistics) is reset to its values before the teacher
 * epochs, so the student starts from the same initialisation, untrained; the remaining N - T
 * epochs train the student with L above. `mmgap methods` shows teacherShare.
 *
 * Where we depart from the paper and BalanceBenchmark, and why:
 * - Teachers in the same run, not separate runs. BalanceBenchmark loads the newest checkpoint of a
 *   `unimodalTrainer_<modality>` run per modality (separate runs, each with its own epochs and
 *   model selection); here the teachers are the model's encoders after T epochs of unimodal
 *   training, with no selection of their own, so one command trains UMT and the epoch budget is
 *   shared (T teacher epochs + N - T student epochs).
 * - Teacher targets are computed once, in eval mode, on the un-augmented training samples. The
 *   reference runs the teacher on each (augmented) batch, in the mode the trainer object leaves it
 *   (train mode there, BatchNorm on batch statistics). With augmentation the student's view and the
 *   teacher's target then differ; without it (the avdigits and folder datasets), only the
 *   BatchNorm mode does.
 * - The optimizer's state (momentum, Adam moments) and the learning-rate schedule are the run's
 *   and carry over the reset (a method does not own the optimizer); the reference starts the
 *   student with a fresh one.
 * - The distillation weight alpha = 1, as BalanceBenchmark's run scripts (--alpha 1.0 for UMTTrainer);
 *   the authors' value could not be read here.
 * - Resume: the run's checkpoints keep the initial weights during the teacher epochs and the
 *   teacher features after (training samples x feature width per modality, float32).
 * - A purification fine-tuning stage (a fresh instance of the method) has no teachers: it trains
 *   with the fused cross-entropy alone.
 * - Data-parallel: every term is a mean over the rank's slice, so the trainer's gradient average is
 *   the 1-process gradient; the teacher features are gathered from every rank by trainPredictions,
 *   and each rank looks up its batch's rows.
 */
import { keep, nn, noGrad, tensor, type Tensor } from '../torch/index.js';
import { defineMethod, type MethodState } from './method.js';
import { readScalars, unimodalLogits } from './balance-utils.js';

const NAME = 'umt';

/** Teacher epochs of a training stage of `n` epochs: round(share * n), kept within [1, n - 1]. */
export function teacherEpochs(n: number, share: number): number {
  if (n < 2) throw new Error(`${NAME}: needs at least 2 epochs (the teachers, then the student), got ${n}; raise --epochs`);
  return Math.min(n - 1, Math.max(1, Math.round(share * n)));
}

/** Rows [n x d] by training-split index from predictions' rows (row r is sample index[r]); every sample must appear. */
export function rowsBySample(data: Float32Array, dim: number, index: Int32Array, n: number): Float32Array {
  const out = new Float32Array(n * dim);
  const seen = new Uint8Array(n);
  index.forEach((s, r) => {
    out.set(data.subarray(r * dim, (r + 1) * dim), s * dim);
    seen[s] = 1;
  });
  const missing = seen.indexOf(0);
  if (missing >= 0) throw new Error(`${NAME}: the training predictions have no row for sample ${missing}`);
  return out;
}

export const umt = defineMethod({
  name: NAME,
  summary: 'UMT (Du et al. 2023): unimodal teachers trained in the run\'s first epochs, then a fresh model on fused CE + feature distillation from them',
  options: {
    teacherShare: { type: 'number', default: 0.5, min: 0, max: 1, exclusiveMin: true, exclusiveMax: true, help: 'share of the run\'s epochs that train the unimodal teachers (at least 1, leaving at least 1 for the student)' },
    alpha: { type: 'number', default: 1, min: 0, help: 'weight of the feature distillation sum_m MSE(student features, teacher features)' },
  },
  sharedWarmup: false,
  build({ teacherShare, alpha }) {
    /** Run-level epoch of the method's first epoch in the training stage, and its teacher epochs. */
    let first: number | null = null;
    let teachers = 0;
    /** 'teacher' or 'student' for the current epoch; 'plain' in a fine-tuning stage (no teachers). */
    let phase: 'teacher' | 'student' | 'plain' = 'teacher';
    /** The model's state before the teacher epochs (the student's initialisation). */
    const initial = new Map<string, Tensor>();
    /** Teacher features [trainSize, D_m] by modality, on the model's device. */
    const targets = new Map<string, Tensor>();

    const drop = (m: Map<string, Tensor>): void => {
      for (const t of m.values()) t.dispose();
      m.clear();
    };

    return {
      name: NAME,

      async beginEpoch(ctx) {
        if (ctx.stage === 'finetune' && first === null) {
          phase = 'plain';
          return;
        }
        if (first === null) {
          first = ctx.epoch;
          teachers = teacherEpochs(ctx.epochs - first, teacherShare);
          for (const [k, t] of ctx.model.stateDict()) initial.set(k, keep(noGrad(() => t.detach().clone())));
          ctx.log(`${NAME}: ${teachers} epochs of unimodal teachers, then ${ctx.epochs - first - teachers} of the student`);
        }
        const k = ctx.epoch - first;
        phase = k < teachers ? 'teacher' : 'student';
        if (phase === 'student' && targets.size === 0) {
          const preds = await ctx.trainPredictions({ features: true });
          const device = ctx.model.parameters()[0]?.device ?? 'cpu';
          for (const m of ctx.modalities) {
            const f = preds.features?.[m];
            if (!f) throw new Error(`${NAME}: the training predictions have no features for "${m}"`);
            const rows = rowsBySample(f.data, f.dim, preds.index, ctx.trainSize);
            targets.set(m, keep(noGrad(() => tensor(rows, [ctx.trainSize, f.dim]).to(device as never))));
          }
          if (initial.size === 0) throw new Error(`${NAME}: no initial weights to start the student from`);
          ctx.model.loadStateDict(initial);
          drop(initial);
          ctx.log(`${NAME}: teachers' features of ${ctx.trainSize} training samples kept; the model is reset to its initialisation and trains as the student`);
        }
      },

      loss(out, batch, ctx) {
        const y = batch.labels;
        if (phase === 'teacher') {
          const ces = ctx.modalities.map((m) => nn.F.crossEntropy(unimodalLogits(out, m, NAME), y));
          return { loss: ces.reduce((a, b) => a.add(b)), logs: readScalars(Object.fromEntries(ctx.modalities.map((m, i) => [`ce_${m}`, ces[i] as Tensor]))) };
        }
        const ce = nn.F.crossEntropy(out.fused, y);
        if (phase === 'plain' || alpha === 0) return { loss: ce, logs: readScalars({ ce }) };
        const idx = tensor(batch.index, { dtype: 'int64' }).to(out.fused.device as never);
        const kd = ctx.modalities.map((m) => {
          const target = targets.get(m);
          const f = out.features[m];
          if (!target || !f) throw new Error(`${NAME}: no teacher features or student features for "${m}"`);
          // (The targets are float32, as predictions are kept; a float64 model compares in float64.)
          return nn.F.mseLoss(f, target.indexSelect(0, idx).to(f.dtype));
        });
        const distill = kd.reduce((a, b) => a.add(b));
        return {
          loss: ce.add(distill.mul(alpha)),
          logs: readScalars({ ce, ...Object.fromEntries(ctx.modalities.map((m, i) => [`distill_${m}`, kd[i] as Tensor])) }),
        };
      },

      selectable: () => phase !== 'teacher',

      // 1 for a teacher epoch, 0 for the student's (and a fine-tuning stage's).
      async endEpoch() {
        return { teacher: phase === 'teacher' ? 1 : 0 };
      },

      state(): MethodState {
        const tensors: Record<string, Tensor> = {};
        for (const [k, t] of initial) tensors[`init.${k}`] = t;
        for (const [k, t] of targets) tensors[`teacher.${k}`] = t;
        return { json: { first, teachers }, tensors };
      },

      loadState(s) {
        const { first: f, teachers: t } = s.json;
        if (!(f === null || (typeof f === 'number' && Number.isInteger(f) && f >= 0))) throw new Error(`${NAME}: state has no valid "first"`);
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) throw new Error(`${NAME}: state has no valid "teachers"`);
        drop(initial);
        drop(targets);
        for (const [key, v] of Object.entries(s.tensors)) {
          const dot = key.indexOf('.');
          const [kind, name] = [key.slice(0, dot), key.slice(dot + 1)];
          if (kind === 'init') initial.set(name, keep(noGrad(() => v.clone())));
          else if (kind === 'teacher') targets.set(name, keep(noGrad(() => v.clone())));
          else throw new Error(`${NAME}: unexpected state tensor "${key}"`);
        }
        first = f;
        teachers = t;
      },
    };
  },
});
