/** Stateless layers and losses (as torch.nn.functional), on top of the generated ATen wrappers. */
import type { Tensor } from '../tensor.js';
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
