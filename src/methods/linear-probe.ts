/**
 * LinearProbe: frozen encoders, the fusion head trained on their features (the linear-evaluation
 * protocol of representation learning; BalanceBenchmark's LinearProbe trainer,
 * GeWu-Lab/BalanceBenchmark balancemm/trainer/LinearProbe_trainer.py, probes the encoders of a run
 * of another method this way). It asks how much the encoders learnt, apart from how the fusion
 * uses them: a balancing method that improves its encoders, and not only its head, shows it here.
 *
 * - Encoders: `from: warmup` probes the encoders the run's shared warm-up trains (RunConfig.warmup
 *   epochs of plain fused cross-entropy, `--warmup`); `from: <run directory>` probes those of a
 *   finished mmgap run (its selected checkpoint, checkpoints/best.safetensors), loaded at the first
 *   epoch of the probe, on a model of the same architecture (same data, encoder, width, fusion).
 * - The probe: every epoch the encoders stay in eval mode (BatchNorm's running statistics frozen)
 *   and get no gradient (EpochPlan.frozenEncoders), and the fusion head is trained by the fused
 *   cross-entropy. With the concat, sum and cosine fusions the head is linear in the features.
 *
 * Where we depart from BalanceBenchmark: it trains a new linear head from scratch; here the head
 * the model has (after the warm-up, or the fresh run's initial head when probing another run)
 * is trained on, as the probe's objective is convex in a linear head's parameters and its optimum
 * does not depend on the start. The shared warm-up also runs before probing another run (its
 * encoders are then replaced).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, nn, noGrad, type Tensor } from '../torch/index.js';
import { defineMethod } from './method.js';

const NAME = 'linear-probe';
const WARMUP = 'warmup';

/**
 * Copies every parameter and buffer of each modality's encoder from a checkpoint's tensors
 * (keys model.encoder_<modality>.<name>); names what is missing or misshapen.
 */
export function loadEncoders(tensors: Map<string, Tensor>, encoders: Record<string, nn.Module>, source: string): void {
  for (const [m, enc] of Object.entries(encoders)) {
    for (const [name, t] of [...enc.namedParameters(), ...enc.namedBuffers()]) {
      const key = `model.encoder_${m}.${name}`;
      const src = tensors.get(key);
      if (!src) throw new Error(`${NAME}: ${source} has no "${key}": probe a run of the same data, encoder and width`);
      if (src.shape.join('x') !== t.shape.join('x')) {
        throw new Error(`${NAME}: ${source}'s "${key}" is [${src.shape.join(', ')}], the model's [${t.shape.join(', ')}]: probe a run of the same data, encoder and width`);
      }
      noGrad(() => t.copy_(src.to(t.dtype).to(t.device as never)));
    }
  }
}

export const linearProbe = defineMethod({
  name: NAME,
  summary: 'LinearProbe: encoders frozen (the shared warm-up\'s, or another run\'s), the fusion head trained on their features',
  options: {
    from: { type: 'string', default: WARMUP, help: 'warmup: probe the encoders of the run\'s own shared warm-up; else the directory of a finished mmgap run whose selected encoders to probe' },
  },
  sharedWarmup: true,
  build({ from }) {
    let loaded = false;
    return {
      name: NAME,

      async beginEpoch(ctx) {
        if (from !== WARMUP && !loaded) {
          const path = join(from, 'checkpoints', 'best.safetensors');
          if (!existsSync(path)) throw new Error(`${NAME}: option from "${from}" has no ${join('checkpoints', 'best.safetensors')}; give the directory of a finished mmgap run, or warmup`);
          const ck = loadSafetensors(path);
          try {
            loadEncoders(ck.tensors, Object.fromEntries(ctx.modalities.map((m) => [m, ctx.model.encoder(m)])), path);
          } finally {
            for (const t of ck.tensors.values()) t.dispose();
          }
          ctx.log(`${NAME}: probing the encoders of ${path}`);
          loaded = true;
        }
        return { frozenEncoders: true };
      },

      loss: (out, batch) => ({ loss: nn.F.crossEntropy(out.fused, batch.labels) }),
    };
  },
});
