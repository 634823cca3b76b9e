/** Learning-rate schedules stepped once per epoch, and gradient-norm clipping. */
import type { Tensor } from '../tensor.js';
import type { Optimizer } from './optimizer.js';
import { noGrad } from '../autograd.js';
import { tidy } from '../scope.js';
import * as ops from '../ops.generated.js';

export interface LRScheduler {
  /** Call once at the end of each epoch. */
  step(): void;
  readonly epoch: number;
  /** For checkpoints: restores the epoch counter and the learning rates it implies. */
  setEpoch(epoch: number): void;
}

/** Multiplies each group's initial lr by `gamma` every `stepSize` epochs (torch StepLR). */
export class StepLR implements LRScheduler {
  readonly #base: number[];
  epoch = 0;
  constructor(readonly optimizer: Optimizer<{ lr: number }>, readonly stepSize: number, readonly gamma = 0.1) {
    if (!(stepSize >= 1)) throw new RangeError(`StepLR: stepSize must be >= 1, got ${stepSize}`);
    this.#base = optimizer.lrs;
  }
  step(): void { this.setEpoch(this.epoch + 1); }
  setEpoch(epoch: number): void {
    this.epoch = epoch;
    const f = this.gamma ** Math.floor(epoch / this.stepSize);
    this.#base.forEach((lr, i) => this.optimizer.setLr(lr * f, i));
  }
}

/** Cosine annealing from each group's initial lr to `etaMin` over `tMax` epochs (closed form). */
export class CosineAnnealingLR implements LRScheduler {
  readonly #base: number[];
  epoch = 0;
  constructor(readonly optimizer: Optimizer<{ lr: number }>, readonly tMax: number, readonly etaMin = 0) {
    if (!(tMax >= 1)) throw new RangeError(`CosineAnnealingLR: tMax must be >= 1, got ${tMax}`);
    this.#base = optimizer.lrs;
  }
  step(): void { this.setEpoch(this.epoch + 1); }
  setEpoch(epoch: number): void {
    this.epoch = epoch;
    this.#base.forEach((lr, i) => this.optimizer.setLr(this.etaMin + (lr - this.etaMin) * (1 + Math.cos(Math.PI * epoch / this.tMax)) / 2, i));
  }
}

/**
 * Scales all gradients so that their joint 2-norm is at most `maxNorm` (torch
 * clip_grad_norm_); returns the norm before clipping.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return tidy(() => noGrad(() => {
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (grads.length === 0) return 0;
    const total = ops.stack(ops._foreach_norm(grads, 2)).norm(2).item();
    const coef = maxNorm / (total + 1e-6);
    if (coef < 1) ops._foreach_mul_(grads, coef);
    return total;
  }));
}
