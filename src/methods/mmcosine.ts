/**
 * MMCosine: Multi-Modal Cosine loss (Xu, Feng, Zhang & Hu, ICASSP 2023, "MMCosine: Multi-Modal
 * Cosine Loss Towards Balanced Audio-Visual Fine-Grained Learning", arXiv 2303.05338; reference
 * code github.com/GeWu-Lab/MMCosine_ICASSP23, and BalanceBenchmark's MMCosine trainer).
 *
 * Each modality's head is normalised: its logits are s times the cosine between the features and
 * each class's weight row, and the fused logits are their sum,
 *   z^m_c = s cos(f_m, w^m_c),   z = sum_m z^m,
 * trained by the cross-entropy of z. Bounded by s, no modality's logits can outgrow the others'
 * by the norm of its features or weights, the route by which a dominant modality takes the fused
 * prediction. The normalised heads are an architecture: the model's `cosine` fusion
 * (src/models/fusion.ts), which this method declares, so a run of it uses that fusion; the method
 * itself is the fused cross-entropy.
 *
 * Where we depart from the references:
 * - The scale s is the fusion's constant COSINE_SCALE = 15 (BalanceBenchmark's `scaling`; the
 *   reference's README runs CREMA-D with 10), not an option: it belongs to the model, whose logits
 *   every evaluation and gap diagnosis reads.
 * - The reference also pairs the cosine heads with its gated and FiLM fusions; here they are a
 *   fusion of their own (the sum of cosine logits, as BalanceBenchmark).
 * - BalanceBenchmark normalises slices of one concat head's weight; here each modality has its own
 *   bias-free head (the same function: the slices never mix).
 */
import { nn } from '../torch/index.js';
import { defineMethod } from './method.js';

export const mmcosine = defineMethod({
  name: 'mmcosine',
  summary: 'MMCosine (Xu et al. 2023): per-modality cosine heads with a fixed scale, fused by their sum (uses the cosine fusion)',
  options: {},
  fusion: 'cosine',
  build: () => ({
    name: 'mmcosine',
    loss: (out, batch) => ({ loss: nn.F.crossEntropy(out.fused, batch.labels) }),
  }),
});
