/**
 * MMPareto (Wei & Hu, ICML 2024, "MMPareto: Boosting Multimodal Learning with Innocent Unimodal
 * Assistance"; reference code github.com/GeWu-Lab/MMPareto_ICML2024, code/MMPareto.py).
 *
 * The loss is CE(fused) + sum_m CE(z^m). Each encoder m receives two gradients, g_mm from the
 * multimodal loss and g_u from its own unimodal loss (the paper's Algorithm 1):
 * - cos(g_mm, g_u) > 0 (no conflict): weights (1/2, 1/2);
 * - otherwise: the Pareto (MGDA) weights, the minimum-norm point of the segment between them,
 *   a = clip(((g_u - g_mm) . g_u) / ||g_mm - g_u||^2, 0, 1) on g_mm and 1 - a on g_u.
 * The cosine and the weights use each encoder's whole gradient (all its parameters concatenated).
 * Then, per parameter tensor, the combined gradient g = 2 (w_mm g_mm + w_u g_u) gets the
 * reference's magnitude step: it is rescaled to the norm of the plain total gradient g_mm + g_u
 * when that is larger, and multiplied by gamma (1.5 in the reference) to boost generalisation:
 *   p.grad = gamma * max(1, ||g_mm + g_u|| / ||g||) * g.
 * The other parameters (the fusion head) get the plain gradient of the total loss.
 *
 * Differences from the reference: the unimodal logits are the model contract's (for concat fusion,
 * the fused head's own slice), not separate unimodal heads. The cosine test is strict (> 0) as in
 * the reference. In the degenerate case g_mm = g_u the weights are (1/2, 1/2); the reference's
 * solver clips to 0.999/0.001 where ours clips to 1/0 (only reachable with a zero gradient).
 * Data-parallel: every per-objective gradient is averaged over the ranks (the StepContext's
 * allReduceMeanGrads) before the cosines, weights and norms are taken, which makes them the
 * global batch's, as in one process; the trainer's own gradient average is then not armed.
 */
import { cat, grad, nn, noGrad, ops, tidy, where, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';
import { EpochMeans, readScalars } from './balance-utils.js';

const NAME = 'mmpareto';

/**
 * Weight a on g1 minimising ||a g1 + (1 - a) g2|| over a in [0, 1] (the two-task MGDA closed form),
 * from v11 = g1.g1, v12 = g1.g2, v22 = g2.g2.
 */
export function minNormWeight(v11: number, v12: number, v22: number): number {
  const denom = v11 + v22 - 2 * v12; // ||g1 - g2||^2
  if (!(denom > 0)) return 0.5;
  return Math.min(1, Math.max(0, (v22 - v12) / denom));
}

/** MMPareto's weights [on g_mm, on g_u]: equal when the gradients agree (cos > 0), min-norm otherwise. */
export function paretoWeights(v11: number, v12: number, v22: number): { cos: number; weights: [number, number] } {
  const cos = v11 > 0 && v22 > 0 ? v12 / Math.sqrt(v11 * v22) : 0;
  if (cos > 0) return { cos, weights: [0.5, 0.5] };
  const a = minNormWeight(v11, v12, v22);
  return { cos, weights: [a, 1 - a] };
}

function addGrad(p: Tensor, g: Tensor): void {
  const prev = p.grad;
  p.grad = prev ? prev.add(g) : g;
}

export const mmpareto = defineMethod({
  name: NAME,
  summary: 'MMPareto (Wei & Hu 2024): fused + unimodal losses, conflicting encoder gradients combined by their Pareto (min-norm) weights',
  options: {
    gamma: { type: 'number', default: 1.5, min: 0, help: 'scale of the combined encoder gradient (the reference\'s generalisation boost)' },
  },
  build({ gamma }) {
    const means = new EpochMeans();

    const unimodalLoss = (z: Tensor | undefined, labels: Tensor, m: string): Tensor => {
      if (!z) throw new Error(`${NAME}: the model gave no unimodal logits for "${m}"`);
      return nn.F.crossEntropy(z, labels);
    };

    return {
      name: NAME,

      loss(out, batch, ctx) {
        const ce = nn.F.crossEntropy(out.fused, batch.labels);
        const uni = ctx.modalities.map((m) => unimodalLoss(out.unimodal[m], batch.labels, m));
        const logs = readScalars({ ce, ...Object.fromEntries(ctx.modalities.map((m, i) => [`ce_${m}`, uni[i] as Tensor])) });
        return { loss: uni.reduce((a, b) => a.add(b), ce), logs };
      },

      backward(_result, out, batch, ctx) {
        const mods = ctx.modalities;
        const enc = mods.map((m) => ctx.model.encoder(m).parameters());
        const encSet = new Set(enc.flat());
        const shared = ctx.model.parameters().filter((p) => !encSet.has(p));
        const stats: Record<string, number> = {};
        tidy(() => {
          const lossMM = nn.F.crossEntropy(out.fused, batch.labels);
          const perObjective = [grad([lossMM], [...enc.flat(), ...shared], { retainGraph: true, allowUnused: true })];
          mods.forEach((m, i) => {
            const lossU = unimodalLoss(out.unimodal[m], batch.labels, m);
            perObjective.push(grad([lossU], [...(enc[i] as Tensor[]), ...shared], { retainGraph: i < mods.length - 1, allowUnused: true }));
          });
          // Each objective's gradient of the global batch (averaged over the ranks, in one
          // all-reduce) before any is combined: the weights depend on them non-linearly.
          const averaged = ctx.allReduceMeanGrads(perObjective.flat().filter((g): g is Tensor => g !== null));
          let next = 0;
          const [gMM, ...gUs] = perObjective.map((gs) => gs.map((g) => (g ? averaged[next++] as Tensor : null))) as (Tensor | null)[][];
          const sharedGrad = (gMM as (Tensor | null)[]).slice(enc.flat().length);
          let offset = 0;
          mods.forEach((m, i) => {
            const ps = enc[i] as Tensor[];
            const gU = gUs[i] as (Tensor | null)[];
            noGrad(() => {
              // Unused parameters get no gradient: count them as zeros.
              const g1 = ps.map((p, j) => gMM[offset + j] ?? ops.zeros_like(p));
              const g2 = ps.map((p, j) => gU[j] ?? ops.zeros_like(p));
              const f1 = cat(g1.map((g) => g.flatten()));
              const f2 = cat(g2.map((g) => g.flatten()));
              const dots = readScalars({ v11: ops.dot(f1, f1), v12: ops.dot(f1, f2), v22: ops.dot(f2, f2) });
              const { cos, weights: [wMM, wU] } = paretoWeights(dots.v11 as number, dots.v12 as number, dots.v22 as number);
              ps.forEach((p, j) => {
                const combined = (g1[j] as Tensor).mul(2 * wMM).add((g2[j] as Tensor).mul(2 * wU));
                const totalNorm = (g1[j] as Tensor).add(g2[j] as Tensor).norm();
                const norm = combined.norm();
                const scale = where(norm.gt(0), totalNorm.div(norm).clamp(1, null), 1).mul(gamma);
                addGrad(p, combined.mul(scale));
              });
              gU.slice(ps.length).forEach((g, j) => {
                if (g) sharedGrad[j] = sharedGrad[j] ? (sharedGrad[j] as Tensor).add(g) : g;
              });
              stats[`cos_${m}`] = cos;
              stats[`wmm_${m}`] = wMM;
              stats[`conflict_${m}`] = cos > 0 ? 0 : 1;
            });
            offset += ps.length;
          });
          shared.forEach((p, j) => {
            const g = sharedGrad[j];
            if (g) addGrad(p, g);
          });
        });
        means.add(stats);
      },

      // Epoch means: gradient cosine, weight on the multimodal gradient, share of conflicting steps, per modality.
      endEpoch: async () => means.take(),
    };
  },
});
