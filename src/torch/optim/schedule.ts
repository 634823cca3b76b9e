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

/** Sets every group's lr from its initial lr and the epoch count by a closed form. */
abstract class EpochSchedule implements LRScheduler {
  readonly #base: number[];
  epoch = 0;
  constructor(readonly optimizer: Optimizer<{ lr: number }>) {
    this.#base = optimizer.lrs;
  }
  protected abstract lrAt(base: number, epoch: number): number;
  step(): void { this.setEpoch(this.epoch + 1); }
  setEpoch(epoch: number): void {
    this.epoch = epoch;
    this.#base.forEach((lr, i) => this.optimizer.setLr(this.lrAt(lr, epoch), i));
  }
}

/** Multiplies each group's initial lr by `gamma` every `stepSize` epochs (torch StepLR). */
export class StepLR extends EpochSchedule {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly stepSize: number, readonly gamma = 0.1) {
    super(optimizer);
    if (!(stepSize >= 1)) throw new RangeError(`StepLR: stepSize must be >= 1, got ${stepSize}`);
  }
  protected lrAt(base: number, epoch: number): number { return base * this.gamma ** Math.floor(epoch / this.stepSize); }
}

/** Cosine annealing from each group's initial lr to `etaMin` over `tMax` epochs (closed form). */
export class CosineAnnealingLR extends EpochSchedule {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly tMax: number, readonly etaMin = 0) {
    super(optimizer);
    if (!(tMax >= 1)) throw new RangeError(`CosineAnnealingLR: tMax must be >= 1, got ${tMax}`);
  }
  protected lrAt(base: number, epoch: number): number {
    return this.etaMin + (base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax)) / 2;
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
