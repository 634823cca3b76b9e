/** Stateless layers and losses (as torch.nn.functional), on top of the generated ATen wrappers. */
import type { Tensor } from '../tensor.js';
import type { ProcessGroup } from '../distributed.js';
import { noGrad } from '../autograd.js';
import * as ops from '../ops.generated.js';

export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

function reductionCode(r: Reduction): number {
  const c = REDUCTION[r];
  if (c === undefined) throw new TypeError(`reduction must be "none", "mean" or "sum", got "${String(r)}"`);
  return c;
}

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor { return ops.linear(x, weight, bias); }

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null,
  opts: { stride?: number | number[]; padding?: number | number[]; dilation?: number | number[]; groups?: number } = {}): Tensor {
  return ops.conv2d(x, weight, bias, opts.stride ?? 1, opts.padding ?? 0, opts.dilation ?? 1, opts.groups ?? 1);
}

export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  return ops.batch_norm(x, weight, bias, runningMean, runningVar, training, momentum, eps, true);
}

/**
 * Training-mode BatchNorm over the global batch of every rank of `group` (torch.nn.SyncBatchNorm's
 * forward): x is [N, C, ...]; each rank's count, mean and biased variance per channel are summed
 * into a table of all ranks' rows by one differentiable all-reduce (group.allReduceGrad), then
 * combined (Chan et al.: no E[x²] - E[x]² cancellation). The running statistics take the global
 * mean and the unbiased global variance with `momentum`, the same on every rank. Gradients flow
 * through the statistics to every rank's input, as PyTorch's: the all-reduce's backward sums them.
 */
export function syncBatchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  momentum: number, eps: number, group: Pick<ProcessGroup, 'rank' | 'worldSize' | 'allReduceGrad'>): Tensor {
  if (x.ndim < 2) throw new RangeError(`syncBatchNorm: expected an input of [N, C, ...], got ${x.shape.length}-D`);
  const shape = x.shape;
  const c = shape[1] as number;
  const dims = [0, ...Array.from({ length: shape.length - 2 }, (_, i) => i + 2)];
  const n = x.numel / Math.max(c, 1);
  // Statistics in float32 at least (a bf16 or fp16 input under autocast), the output in the input's type.
  const xs = x.dtype === 'float64' || x.dtype === 'float32' ? x : x.float();
  let local: Tensor;
  if (n > 0) {
    const [v, m] = ops.var_mean(xs, dims, 0, false);
    local = ops.stack([ops.full_like(m, n), m, v]);
  } else {
    local = ops.zeros([3, c], xs.dtype, null, x.device as never, null);
  }
  const w = group.worldSize, r = group.rank;
  // [W, 3, C]: this rank's row in place r, zeros elsewhere; summed over ranks, every row is filled.
  const table = group.allReduceGrad(ops.constant_pad_nd(local.unsqueeze(0), [0, 0, 0, 0, r, w - 1 - r]));
  const counts = table.select(1, 0), means = table.select(1, 1), vars = table.select(1, 2);
  const total = counts.sum(0);
  const count = total.select(0, 0).item();
  if (count <= 1) throw new RangeError(`syncBatchNorm: expected more than 1 value per channel over all ranks when training, got input ${shape.join('x')} on rank ${r} and ${count} values in all`);
  const mean = counts.mul(means).sum(0).div(total);
  const variance = counts.mul(vars.add(means.sub(mean).square())).sum(0).div(total);
  if (runningMean && runningVar) {
    noGrad(() => {
      runningMean.mul_(1 - momentum).add_(mean.detach(), momentum);
      runningVar.mul_(1 - momentum).add_(variance.detach().mul(count / (count - 1)), momentum);
    });
  }
  const bshape = [1, c, ...dims.slice(1).map(() => 1)];
  let scale = ops.rsqrt(variance.add(eps));
  if (weight) scale = scale.mul(weight);
  const centred = xs.sub(mean.view(bshape));
  const y = bias ? ops.addcmul(bias.view(bshape), centred, scale.view(bshape)) : centred.mul(scale.view(bshape));
  return y.dtype === x.dtype ? y : y.to(x.dtype);
}

export function relu(x: Tensor): Tensor { return ops.relu(x); }
export function relu_(x: Tensor): Tensor { return ops.relu_(x); }
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  return training && p > 0 ? ops.dropout(x, p, true) : x;
}

export function maxPool2d(x: Tensor, kernel: number | number[], stride?: number | number[], padding: number | number[] = 0): Tensor {
  return ops.max_pool2d(x, kernel, stride ?? kernel, padding);
}
export function avgPool2d(x: Tensor, kernel: number | number[], stride?: number | number[], padding: number | number[] = 0): Tensor {
  return ops.avg_pool2d(x, kernel, stride ?? kernel, padding);
}
export function adaptiveAvgPool2d(x: Tensor, size: number | number[]): Tensor { return ops.adaptive_avg_pool2d(x, size); }

/** Resizes the spatial dimensions of [N, C, H, W] (`bilinear` without corner alignment, or `nearest`). */
export function interpolate(x: Tensor, size: [number, number], mode: 'bilinear' | 'nearest' = 'bilinear', alignCorners = false): Tensor {
  return mode === 'nearest' ? ops.upsample_nearest2d(x, size) : ops.upsample_bilinear2d(x, size, alignCorners);
}

export function softmax(x: Tensor, dim: number): Tensor { return ops.softmax(x, dim); }
export function logSoftmax(x: Tensor, dim: number): Tensor { return ops.log_softmax(x, dim); }

/**
 * Cross-entropy of logits [N, C] against int64 class indices [N]; `reduction: 'none'` gives the
 * per-sample losses that weighted objectives need.
 */
export function crossEntropy(logits: Tensor, target: Tensor,
  opts: { reduction?: Reduction; weight?: Tensor | null; labelSmoothing?: number; ignoreIndex?: number } = {}): Tensor {
  return ops.cross_entropy_loss(logits, target, opts.weight ?? null, reductionCode(opts.reduction ?? 'mean'), opts.ignoreIndex ?? -100, opts.labelSmoothing ?? 0);
}

export function nllLoss(logProbs: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return ops.nll_loss(logProbs, target, null, reductionCode(reduction));
}

export function mseLoss(a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor {
  return ops.mse_loss(a, b, reductionCode(reduction));
}

/** One-hot int64 -> float32 [N, C]. */
export function oneHot(labels: Tensor, numClasses: number): Tensor { return ops.one_hot(labels, numClasses).float(); }
