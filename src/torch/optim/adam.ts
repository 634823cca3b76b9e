/**
 * Adam (L2 weight decay in the gradient) and AdamW (decoupled weight decay), as torch.optim.Adam
 * and AdamW: bias-corrected moments, eps added after the square root.
 */
import type { Tensor } from '../tensor.js';
import { zeros } from '../tensor.js';
import { noGrad } from '../autograd.js';
import { Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';
import * as ops from '../ops.generated.js';

export interface AdamOptions { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }

export class Adam extends Optimizer<AdamOptions> {
  /** Per-parameter step counts: a parameter without a gradient in a step does not advance. */
  readonly #steps = new Map<Tensor, number>();
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsArg<AdamOptions>, opts: Partial<AdamOptions> & { lr?: number } = {}) {
    super(params, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...opts });
  }

  protected validate(h: AdamOptions): void {
    if (!(h.lr >= 0)) throw new RangeError(`${this.constructor.name}: invalid lr ${h.lr}`);
    if (!(h.beta1 >= 0 && h.beta1 < 1) || !(h.beta2 >= 0 && h.beta2 < 1)) throw new RangeError(`${this.constructor.name}: betas must be in [0, 1)`);
    if (!(h.eps >= 0) || !(h.weightDecay >= 0)) throw new RangeError(`${this.constructor.name}: invalid eps or weightDecay`);
  }

  protected stepGroup(group: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[]): void {
    // Parameters that have taken the same number of steps share one foreach update.
    const buckets = new Map<number, number[]>();
    params.forEach((p, i) => {
      const s = (this.#steps.get(p) ?? 0) + 1;
      this.#steps.set(p, s);
      (buckets.get(s) ?? buckets.set(s, []).get(s)!).push(i);
    });
    for (const [step, idx] of buckets) this.update(group.hyper, step, idx.map((i) => params[i] as Tensor), idx.map((i) => grads[i] as Tensor));
  }

  private update(h: AdamOptions, step: number, params: Tensor[], grads: Tensor[]): void {
    noGrad(() => {
      let g = grads;
      if (h.weightDecay !== 0) {
        if (this.decoupled) ops._foreach_mul_(params, 1 - h.lr * h.weightDecay);
        else g = ops._foreach_add(grads, params, h.weightDecay);
      }
      const m = params.map((p) => this.stateOf(p, 'exp_avg', () => zeros(p.shape, { dtype: p.dtype, device: p.device as never })));
      const v = params.map((p) => this.stateOf(p, 'exp_avg_sq', () => zeros(p.shape, { dtype: p.dtype, device: p.device as never })));
      ops._foreach_mul_(m, h.beta1);
      ops._foreach_add_(m, g, 1 - h.beta1);
      ops._foreach_mul_(v, h.beta2);
      ops._foreach_addcmul_(v, g, g, 1 - h.beta2);
      const bc1 = 1 - h.beta1 ** step;
      const bc2 = 1 - h.beta2 ** step;
      const denom = ops._foreach_sqrt(v);
      ops._foreach_div_(denom, Math.sqrt(bc2));
      ops._foreach_add_(denom, h.eps);
      ops._foreach_addcdiv_(params, m, denom, -h.lr / bc1);
    });
  }

  override stateDict(): ReturnType<Optimizer<AdamOptions>['stateDict']> {
    const sd = super.stateDict();
    this.groups.forEach((g, gi) => g.params.forEach((p, pi) => {
      const s = this.#steps.get(p);
      if (s !== undefined) sd.tensors.set(`${gi}.${pi}.step`, zeros([]).add_(s));
    }));
    return sd;
  }

  override loadStateDict(sd: ReturnType<Optimizer<AdamOptions>['stateDict']>): void {
    const rest = new Map(sd.tensors);
    this.#steps.clear();
    for (const [k, t] of sd.tensors) {
      if (!k.endsWith('.step')) continue;
      rest.delete(k);
      const [gi, pi] = k.split('.');
      const p = this.groups[Number(gi)]?.params[Number(pi)];
      if (p) this.#steps.set(p, t.item());
    }
    super.loadStateDict({ tensors: rest, meta: sd.meta });
  }
}

export class AdamW extends Adam {
  protected override readonly decoupled = true;
  constructor(params: ParamsArg<AdamOptions>, opts: Partial<AdamOptions> & { lr?: number } = {}) {
    super(params, { weightDecay: 1e-2, ...opts });
  }
}
