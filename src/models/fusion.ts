/**
 * Fusions. Each maps per-modality features to { fused, unimodal } logits (docs/METHOD.md §1):
 * - concat: z = W [f_1; ...; f_M] + b; z^m = W[:, slice_m] f_m + b / M (each modality's own slice
 *   of W; the widely copied OGM-GE code pairs them the wrong way round);
 * - sum: z = sum_m (W_m f_m + b_m); z^m = W_m f_m + b_m;
 * - film and gated (non-linear): z^m = the fused head applied with the other modalities' features zeroed;
 * - cosine (MMCosine's heads): z^m = s cos(W_m, f_m) per class, z = sum_m z^m (no bias);
 * - mmtm (Greedy's cross-modal excitation, non-linear): z = sum_m W_m (f_m * s_m) + b_m with
 *   s_m = sigmoid(E_m relu(S [f_1; ...; f_M])); z^m as film and gated.
 */
import { nn, cat, type Tensor } from '../torch/index.js';
import * as ops from '../torch/ops.generated.js';

import { FUSIONS, type FusionKind } from './kinds.js';

export { FUSIONS, type FusionKind };

export interface FusionOutput { fused: Tensor; unimodal: Record<string, Tensor> }

export abstract class Fusion extends nn.Module {
  constructor(readonly modalities: string[], readonly dims: number[], readonly numClasses: number) {
    super();
    if (modalities.length < 2) throw new Error(`a fusion needs at least 2 modalities, got ${modalities.length}`);
  }
  abstract forward(features: Record<string, Tensor>): FusionOutput;

  protected featuresOf(features: Record<string, Tensor>): Tensor[] {
    return this.modalities.map((m) => {
      const f = features[m];
      if (!f) throw new Error(`fusion: no features for modality "${m}" (got ${Object.keys(features).join(', ')})`);
      return f;
    });
  }
}

export class ConcatFusion extends Fusion {
  readonly head: nn.Linear;
  readonly offsets: number[];
  constructor(modalities: string[], dims: number[], numClasses: number) {
    super(modalities, dims, numClasses);
    this.head = this.module('head', new nn.Linear(dims.reduce((a, b) => a + b, 0), numClasses));
    this.offsets = dims.map((_, i) => dims.slice(0, i).reduce((a, b) => a + b, 0));
  }
  forward(features: Record<string, Tensor>): FusionOutput {
    const fs = this.featuresOf(features);
    const w = this.head.weight;
    const b = this.head.bias as Tensor;
    const share = b.div(this.modalities.length);
    const unimodal: Record<string, Tensor> = {};
    this.modalities.forEach((m, i) => {
      const slice = w.narrow(1, this.offsets[i] as number, this.dims[i] as number);
      unimodal[m] = nn.F.linear(fs[i] as Tensor, slice, share);
    });
    return { fused: this.head.forward(cat(fs, 1)), unimodal };
  }
}

export class SumFusion extends Fusion {
  readonly heads: nn.Linear[];
  constructor(modalities: string[], dims: number[], numClasses: number) {
    super(modalities, dims, numClasses);
    this.heads = modalities.map((m, i) => this.module(`head_${m}`, new nn.Linear(dims[i] as number, numClasses)));
  }
  forward(features: Record<string, Tensor>): FusionOutput {
    const fs = this.featuresOf(features);
    const unimodal: Record<string, Tensor> = {};
    const logits = this.modalities.map((m, i) => (unimodal[m] = (this.heads[i] as nn.Linear).forward(fs[i] as Tensor)));
    return { fused: logits.reduce((a, b) => a.add(b)), unimodal };
  }
}

/** The scale s of the cosine fusion's logits: MMCosine's `scaling` as BalanceBenchmark sets it. */
export const COSINE_SCALE = 15;

/** Rows of x divided by their L2 norm (floored at 1e-12, as torch's F.normalize). */
function l2Rows(x: Tensor): Tensor {
  return x.div(ops.clamp_min(ops.linalg_vector_norm(x, 2, 1, true), 1e-12));
}

/**
 * Cosine heads (MMCosine; Xu, Feng, Zhang & Hu, ICASSP 2023, arXiv 2303.05338): each modality's
 * logits are s times the cosine between its features and each class's weight row,
 * z^m_c = s <f_m / |f_m|, w^m_c / |w^m_c|>, and the fused logits their sum. With every logit
 * bounded by s, no modality wins the fused prediction by the size of its features or weights.
 */
export class CosineFusion extends Fusion {
  readonly heads: nn.Linear[];
  constructor(modalities: string[], dims: number[], numClasses: number) {
    super(modalities, dims, numClasses);
    this.heads = modalities.map((m, i) => this.module(`head_${m}`, new nn.Linear(dims[i] as number, numClasses, false)));
  }
  forward(features: Record<string, Tensor>): FusionOutput {
    const fs = this.featuresOf(features);
    const unimodal: Record<string, Tensor> = {};
    const logits = this.modalities.map((m, i) => (unimodal[m] = nn.F.linear(l2Rows(fs[i] as Tensor), l2Rows((this.heads[i] as nn.Linear).weight)).mul(COSINE_SCALE)));
    return { fused: logits.reduce((a, b) => a.add(b)), unimodal };
  }
}

/** Shared by the non-linear fusions: unimodal logits by zeroing the other modalities' features. */
abstract class NonLinearFusion extends Fusion {
  protected abstract fuse(fs: Tensor[]): Tensor;
  forward(features: Record<string, Tensor>): FusionOutput {
    const fs = this.featuresOf(features);
    const unimodal: Record<string, Tensor> = {};
    this.modalities.forEach((m, i) => {
      unimodal[m] = this.fuse(fs.map((f, j) => (j === i ? f : ops.zeros_like(f))));
    });
    return { fused: this.fuse(fs), unimodal };
  }
}

/**
 * FiLM: the first modality's features are scaled and shifted by functions of the others,
 * h = gamma(f_rest) * f_1 + beta(f_rest), z = W h + b.
 */
export class FiLMFusion extends NonLinearFusion {
  readonly film: nn.Linear;
  readonly head: nn.Linear;
  constructor(modalities: string[], dims: number[], numClasses: number) {
    super(modalities, dims, numClasses);
    const d0 = dims[0] as number;
    this.film = this.module('film', new nn.Linear(dims.slice(1).reduce((a, b) => a + b, 0), 2 * d0));
    this.head = this.module('head', new nn.Linear(d0, numClasses));
  }
  protected fuse(fs: Tensor[]): Tensor {
    const d0 = this.dims[0] as number;
    const gb = this.film.forward(cat(fs.slice(1), 1));
    const h = gb.narrow(1, 0, d0).mul(fs[0] as Tensor).add(gb.narrow(1, d0, d0));
    return this.head.forward(h);
  }
}

/**
 * Gated: each modality's projected features pass through a sigmoid gate computed from all
 * modalities, h = sum_m sigmoid(G_m [f_1; ...; f_M]) * (P_m f_m), z = W relu(h) + b.
 */
export class GatedFusion extends NonLinearFusion {
  readonly proj: nn.Linear[];
  readonly gates: nn.Linear[];
  readonly head: nn.Linear;
  constructor(modalities: string[], dims: number[], numClasses: number, hidden = 128) {
    super(modalities, dims, numClasses);
    const total = dims.reduce((a, b) => a + b, 0);
    this.proj = modalities.map((m, i) => this.module(`proj_${m}`, new nn.Linear(dims[i] as number, hidden)));
    this.gates = modalities.map((m) => this.module(`gate_${m}`, new nn.Linear(total, hidden)));
    this.head = this.module('head', new nn.Linear(hidden, numClasses));
  }
  protected fuse(fs: Tensor[]): Tensor {
    const all = cat(fs, 1);
    const gated = fs.map((f, i) => (this.gates[i] as nn.Linear).forward(all).sigmoid().mul((this.proj[i] as nn.Linear).forward(f)));
    return this.head.forward(gated.reduce((a, b) => a.add(b)).relu());
  }
}

/** The reduction ratio of the MMTM squeeze layer (its width is 2 sum_m D_m / ratio): the reference's 4. */
export const MMTM_RATIO = 4;

/**
 * Multimodal transfer module (Joze et al., CVPR 2020) as Greedy (Wu et al., ICML 2022) uses it,
 * here one block on the encoders' output features: a shared squeeze layer reads every modality,
 * e = relu(S [f_1; ...; f_M] + b_S), each modality's features are re-scaled by its excitation
 * s_m = sigmoid(E_m e + b_m) (the cross-modal flow into its branch), and each branch has its own
 * head: z = sum_m W_m (f_m * s_m) + b_m. `fuseHeld` replaces one modality's excitation by a
 * constant, cutting the flow into its branch (Greedy's re-balancing step).
 */
export class MMTMFusion extends NonLinearFusion {
  readonly squeeze: nn.Linear;
  readonly excite: nn.Linear[];
  readonly heads: nn.Linear[];
  constructor(modalities: string[], dims: number[], numClasses: number) {
    super(modalities, dims, numClasses);
    const total = dims.reduce((a, b) => a + b, 0);
    const width = Math.max(1, Math.floor(2 * total / MMTM_RATIO));
    this.squeeze = this.module('squeeze', new nn.Linear(total, width));
    this.excite = modalities.map((m, i) => this.module(`excite_${m}`, new nn.Linear(width, dims[i] as number)));
    this.heads = modalities.map((m, i) => this.module(`head_${m}`, new nn.Linear(dims[i] as number, numClasses)));
  }

  /** The excitations s_m [N, D_m] of given features, by modality. */
  excitations(features: Record<string, Tensor>): Record<string, Tensor> {
    const fs = this.featuresOf(features);
    const e = this.squeeze.forward(cat(fs, 1)).relu();
    return Object.fromEntries(this.modalities.map((m, i) => [m, (this.excite[i] as nn.Linear).forward(e).sigmoid()]));
  }

  /** Fused logits with `modality`'s excitation held at `scale` [D_m] for every sample: no cross-modal flow into its branch. */
  fuseHeld(features: Record<string, Tensor>, modality: string, scale: Tensor): Tensor {
    const at = this.modalities.indexOf(modality);
    if (at < 0) throw new Error(`mmtm fusion: no modality "${modality}" to hold (have ${this.modalities.join(', ')})`);
    if (scale.numel !== this.dims[at]) throw new Error(`mmtm fusion: the held excitation of "${modality}" has ${scale.numel} values, its features ${this.dims[at]}`);
    return this.fuse(this.featuresOf(features), { at, scale: scale.reshape([1, -1]) });
  }

  protected fuse(fs: Tensor[], held?: { at: number; scale: Tensor }): Tensor {
    const e = this.squeeze.forward(cat(fs, 1)).relu();
    const logits = fs.map((f, i) => {
      const s = held?.at === i ? held.scale.to(f.dtype) : (this.excite[i] as nn.Linear).forward(e).sigmoid();
      return (this.heads[i] as nn.Linear).forward(f.mul(s));
    });
    return logits.reduce((a, b) => a.add(b));
  }
}

/** The MMTM fusion of a model built with it (what Greedy re-balances); a clear error otherwise. */
export function mmtmFusionOf(model: object, owner: string): MMTMFusion {
  const fusion = (model as { fusion?: unknown }).fusion;
  if (!(fusion instanceof MMTMFusion)) throw new Error(`${owner}: needs a model with the mmtm fusion (its cross-modal excitation block); build it with fusion mmtm (--fusion mmtm)`);
  return fusion;
}

export function makeFusion(kind: FusionKind, modalities: string[], dims: number[], numClasses: number): Fusion {
  switch (kind) {
    case 'concat': return new ConcatFusion(modalities, dims, numClasses);
    case 'sum': return new SumFusion(modalities, dims, numClasses);
    case 'film': return new FiLMFusion(modalities, dims, numClasses);
    case 'gated': return new GatedFusion(modalities, dims, numClasses);
    case 'cosine': return new CosineFusion(modalities, dims, numClasses);
    case 'mmtm': return new MMTMFusion(modalities, dims, numClasses);
    default: throw new Error(`unknown fusion "${String(kind)}" (known: ${FUSIONS.join(', ')})`);
  }
}
