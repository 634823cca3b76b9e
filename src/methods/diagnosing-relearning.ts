/**
 * Diagnosing & Re-learning (Wei, Li, Feng & Hu, ECCV 2024, "Diagnosing and Re-learning for
 * Balanced Multimodal Learning", arXiv 2407.09705; reference code
 * github.com/GeWu-Lab/Diagnosing_Relearning_ECCV2024, code/ours.py and code/script/ours.sh; the
 * same procedure in GeWu-Lab/BalanceBenchmark, balancemm/trainer/ReLearning_trainer.py).
 * Chosen over InfoReg (CVPR 2025) for issue #11's "one of the two": BalanceBenchmark reports it on
 * the common protocol (CREMA-D 71.0, Kinetics-Sounds 65.9), a published number to check against,
 * and two public code bases specify its procedure to the last constant.
 *
 * Training is plain fused cross-entropy. After epoch e (0-based) with e > 0 and e % reinitEvery
 * == 0, at most reinitTimes times, each modality k is diagnosed and its encoder softly re-learnt:
 * - Diagnosing: the encoder features of a split (eval mode) are min-max scaled to [-1, 1] per
 *   feature dimension (sklearn's MinMaxScaler, fitted on that split), clustered by k-means with
 *   K = number of classes (k-means++ seeding, Lloyd iterations, best of `kmeansRuns` by inertia,
 *   seeded), and the clustering is scored by its purity against the labels,
 *     P = (1/n) sum_clusters max_class |{i in cluster : y_i = class}|.
 *   The learning state is the purity gap between the training set (D) and the validation set (V):
 *     g_k = |P^k_D - P^k_V|.
 *   A modality that has learnt its training set far beyond what carries over (well-learnt, or
 *   memorising a scarcely informative modality's noise) has a large gap; a still-learning one a
 *   small gap.
 * - Re-learning: strength a_k = tanh(lambda * g_k), and every parameter of encoder k becomes
 *     theta_k <- (1 - a_k) theta_k + a_k theta_k^init,
 *   theta^init the encoder's parameters before training. The fusion head, the buffers (BatchNorm
 *   running statistics) and the optimizer's state are untouched, as in the reference.
 * Defaults are the reference's script (ours.sh): lambda (move_lambda) 3, every 20 epochs
 * (reinit_epoch), 3 times (reinit_num); sklearn's KMeans(random_state=0).
 *
 * Where we depart from the reference, and why:
 * - The validation set. The reference clusters the features of its validation split. A method here
 *   sees only the training split (EpochContext.trainPredictions), so a seeded fraction `heldOut` of
 *   the training split (default 0.1: the reference's CREMA-D val.csv is 11 % of its training lines)
 *   is kept out of training for the whole run (beginEpoch leaves it out of every epoch) and plays
 *   the validation set of the diagnosis; the rest plays the training set. The model therefore
 *   trains on 1 - heldOut of the training split. With a hook for validation-split features
 *   (e.g. EpochContext.valPredictions({ features: true })) the diagnosis would use the run's own
 *   validation split and train on every sample.
 * - When. The reference re-initialises at the end of the epoch, after that epoch's evaluation; here
 *   it happens in beginEpoch of the next epoch, which is the same point in the weights' history:
 *   the epoch's validation score and checkpoint are those of the weights before re-learning, and a
 *   run resumed from that checkpoint re-learns exactly once. The epoch count is the method's own
 *   (the first epoch it is given is epoch 0), and the initial parameters are those at its first
 *   beginEpoch, kept in state() so that a resumed run re-learns toward the same point. (A fresh
 *   instance in a fine-tuning stage therefore snapshots the weights it starts from.)
 * - k-means: sklearn's procedure (src/core/kmeans.ts: greedy k-means++, Lloyd iterations with
 *   sklearn's tolerance, up to 300 of them), but not its random stream, nor its n_init default
 *   (10 before version 1.4, 1 after): `kmeansRuns` (default 10) and `seed` (default 0) set ours.
 */
import { keep, nn, noGrad, tidy, type Tensor } from '../torch/index.js';
import { kmeans, type KMeansOptions } from '../core/kmeans.js';
import { defineMethod, type MethodState } from './method.js';
import { heldOutMask, trainingPart } from './balance-utils.js';

const NAME = 'diagnosing-relearning';

/** Row-major features [n x d] scaled per column to [-1, 1] (MinMaxScaler); a constant column becomes -1. */
export function minMaxScale(data: ArrayLike<number>, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = data[i * d + j] as number;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const range = hi - lo;
    // sklearn keeps a zero range as 1: (x - min) * 2 / 1 - 1 = -1 for every row.
    const scale = 2 / (range > 0 ? range : 1);
    for (let i = 0; i < n; i++) out[i * d + j] = ((data[i * d + j] as number) - lo) * scale - 1;
  }
  return out;
}

/** Purity of a clustering: (1/n) sum over clusters of the count of its most frequent label. */
export function purity(labels: ArrayLike<number>, clusters: ArrayLike<number>): number {
  const n = labels.length;
  if (clusters.length !== n) throw new RangeError(`purity: ${n} labels but ${clusters.length} cluster assignments`);
  if (n === 0) return 0;
  const counts = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    const c = clusters[i] as number;
    let m = counts.get(c);
    if (!m) counts.set(c, (m = new Map()));
    const y = labels[i] as number;
    m.set(y, (m.get(y) ?? 0) + 1);
  }
  let hit = 0;
  for (const m of counts.values()) hit += Math.max(...m.values());
  return hit / n;
}

/** Purity of a k-means clustering (K = numClasses) of min-max-scaled features [n x d] against their labels. */
export function representationPurity(features: ArrayLike<number>, labels: ArrayLike<number>, d: number, numClasses: number, opts: KMeansOptions = {}): number {
  const n = labels.length;
  const { labels: clusters } = kmeans(minMaxScale(features, n, d), n, d, numClasses, opts);
  return purity(labels, clusters);
}

/** Re-learning strength a = tanh(lambda * |P_train - P_val|). */
export function relearnStrength(trainPurity: number, valPurity: number, lambda: number): number {
  return Math.tanh(lambda * Math.abs(trainPurity - valPurity));
}

/** theta <- (1 - a) theta + a theta_init, in place, for each parameter and its initial value. */
export function softReinit(params: Tensor[], initial: Tensor[], a: number): void {
  if (params.length !== initial.length) throw new Error(`${NAME}: ${params.length} parameters but ${initial.length} initial values`);
  tidy(() => noGrad(() => {
    params.forEach((p, i) => {
      const init = initial[i] as Tensor;
      p.mul_(1 - a).add_(init.device === p.device ? init : init.to(p.device as never), a);
    });
  }));
}

export const diagnosingRelearning = defineMethod({
  name: NAME,
  summary: 'Diagnosing & Re-learning (Wei et al. 2024): encoders softly re-initialised by tanh(lambda * train/held-out purity gap of their k-means clusters)',
  options: {
    lambda: { type: 'number', default: 3, min: 0, help: 'lambda of the re-learning strength tanh(lambda * |P_train - P_val|) (the reference\'s move_lambda)' },
    reinitEvery: { type: 'number', integer: true, default: 20, min: 1, help: 'diagnose and re-learn after every this many epochs (the reference\'s reinit_epoch)' },
    reinitTimes: { type: 'number', integer: true, default: 3, min: 0, help: 'at most this many re-learnings (the reference\'s reinit_num)' },
    heldOut: { type: 'number', default: 0.1, min: 0, max: 0.5, exclusiveMin: true, help: 'fraction of the training split kept out of training to stand in for the validation set of the diagnosis' },
    kmeansRuns: { type: 'number', integer: true, default: 10, min: 1, help: 'k-means restarts (k-means++ seeding); the lowest inertia wins' },
    seed: { type: 'number', integer: true, default: 0, min: 0, help: 'seed of the held-out part and of k-means (the reference\'s random_state 0)' },
  },
  sharedWarmup: false,
  build({ lambda, reinitEvery, reinitTimes, heldOut, kmeansRuns, seed }) {
    /** Initial encoder parameters by "<modality>.<parameter name>". */
    const initial = new Map<string, Tensor>();
    /** The run-level epoch of the method's first beginEpoch. */
    let first: number | null = null;
    let reinits = 0;
    /** This epoch's diagnosis, for endEpoch. */
    let report: Record<string, number> | null = null;
    let mask: Uint8Array | null = null;

    const encoderParams = (model: { encoder(m: string): nn.Module }, m: string): [string, Tensor][] => [...model.encoder(m).namedParameters()];

    return {
      name: NAME,

      async beginEpoch(ctx) {
        if (first === null) {
          first = ctx.epoch;
          for (const m of ctx.modalities) {
            for (const [name, p] of encoderParams(ctx.model, m)) initial.set(`${m}.${name}`, keep(noGrad(() => p.detach().clone())));
          }
        }
        if (!mask || mask.length !== ctx.trainSize) mask = heldOutMask(ctx.trainSize, heldOut, seed);
        const held = mask;
        report = null;

        // After epoch e = (this epoch - 1) of the method, as the reference: e > 0 and e % reinitEvery == 0.
        const e = ctx.epoch - first - 1;
        if (e > 0 && e % reinitEvery === 0 && reinits < reinitTimes) {
          const preds = await ctx.trainPredictions({ features: true });
          const rows = { train: [] as number[], held: [] as number[] };
          preds.index.forEach((s, r) => (held[s] ? rows.held : rows.train).push(r));
          if (rows.held.length < ctx.numClasses) {
            throw new Error(`${NAME}: the held-out part has ${rows.held.length} samples, fewer than the ${ctx.numClasses} classes; raise heldOut`);
          }
          const labelsOf = (rs: number[]): Int32Array => Int32Array.from(rs, (r) => preds.labels[r] as number);
          report = {};
          const parts: string[] = [];
          for (const m of ctx.modalities) {
            const f = preds.features?.[m];
            if (!f) throw new Error(`${NAME}: the training predictions have no features for "${m}"`);
            const pick = (rs: number[]): Float32Array => {
              const out = new Float32Array(rs.length * f.dim);
              rs.forEach((r, i) => out.set(f.data.subarray(r * f.dim, (r + 1) * f.dim), i * f.dim));
              return out;
            };
            const opts = { seed, runs: kmeansRuns };
            const pTrain = representationPurity(pick(rows.train), labelsOf(rows.train), f.dim, ctx.numClasses, opts);
            const pHeld = representationPurity(pick(rows.held), labelsOf(rows.held), f.dim, ctx.numClasses, opts);
            const a = relearnStrength(pTrain, pHeld, lambda);
            const named = encoderParams(ctx.model, m);
            softReinit(named.map(([, p]) => p), named.map(([name]) => {
              const t = initial.get(`${m}.${name}`);
              if (!t) throw new Error(`${NAME}: no initial value of ${m} encoder parameter "${name}"`);
              return t;
            }), a);
            Object.assign(report, { [`purityTrain_${m}`]: pTrain, [`purityHeldOut_${m}`]: pHeld, [`strength_${m}`]: a });
            parts.push(`${m} purity ${pTrain.toFixed(3)} train / ${pHeld.toFixed(3)} held-out, strength ${a.toFixed(3)}`);
          }
          reinits++;
          ctx.log(`${NAME}: re-learning ${reinits}/${reinitTimes} after epoch ${ctx.epoch}: ${parts.join('; ')}`);
        }
        return { indices: trainingPart(held) };
      },

      loss: (out, batch) => ({ loss: nn.F.crossEntropy(out.fused, batch.labels) }),

      async endEpoch() {
        return report ?? undefined;
      },

      state(): MethodState {
        const tensors: Record<string, Tensor> = {};
        for (const [k, t] of initial) tensors[`init.${k}`] = t;
        return { json: { first, reinits }, tensors };
      },

      loadState(s) {
        const { first: f, reinits: r } = s.json;
        if (!(f === null || (typeof f === 'number' && Number.isInteger(f) && f >= 0))) throw new Error(`${NAME}: state has no valid "first"`);
        if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) throw new Error(`${NAME}: state has no valid "reinits"`);
        for (const t of initial.values()) t.dispose();
        initial.clear();
        for (const [key, t] of Object.entries(s.tensors)) {
          if (!key.startsWith('init.')) throw new Error(`${NAME}: unexpected state tensor "${key}"`);
          initial.set(key.slice('init.'.length), keep(noGrad(() => t.clone())));
        }
        if (f !== null && initial.size === 0) throw new Error(`${NAME}: state has no initial parameters`);
        first = f;
        reinits = r;
        report = null;
      },
    };
  },
});
