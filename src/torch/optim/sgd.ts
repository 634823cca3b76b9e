/** SGD with momentum, dampening, Nesterov and L2 weight decay, exactly as torch.optim.SGD. */
import type { Tensor } from '../tensor.js';
import { noGrad } from '../autograd.js';
import { Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';
import * as ops from '../ops.generated.js';

export interface SGDOptions { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArg<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...opts });
  }

  protected validate(h: SGDOptions): void {
    if (!(h.lr >= 0)) throw new RangeError(`SGD: invalid lr ${h.lr}`);
    if (!(h.momentum >= 0)) throw new RangeError(`SGD: invalid momentum ${h.momentum}`);
    if (!(h.weightDecay >= 0)) throw new RangeError(`SGD: invalid weightDecay ${h.weightDecay}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new RangeError('SGD: nesterov needs momentum > 0 and dampening 0');
  }

  /**
   * PyTorch's update, d = g + wd p; buf = momentum buf + (1 - dampening) d; p -= lr (buf, or
   * d + momentum buf with Nesterov), rearranged so that no temporary of all the parameters' size
   * is made: its fresh pages cost more than the arithmetic on a 2-core machine (7 ms a step for two
   * ResNet18s). The result differs from PyTorch's only in rounding.
   */
  protected stepGroup(group: ParamGroup<SGDOptions>, params: Tensor[], grads: Tensor[]): void {
    const { lr, momentum, dampening, weightDecay: wd, nesterov } = group.hyper;
    noGrad(() => {
      // p - lr (g + wd p) = (1 - lr wd) p - lr g
      const descend = (): void => {
        if (wd !== 0) ops._foreach_mul_(params, 1 - lr * wd);
        ops._foreach_add_(params, grads, -lr);
      };
      if (momentum === 0) { descend(); return; }
      // A new buffer starts as the first d (no decay, no dampening), as in PyTorch.
      const fresh = params.map((p) => !this.state.get(p)?.has('momentum_buffer'));
      const bufs = params.map((p, i) => this.stateOf(p, 'momentum_buffer', () => {
        const g = grads[i] as Tensor;
        return wd !== 0 ? g.add(p, wd) : g.clone();
      }));
      const old = (xs: Tensor[]): Tensor[] => xs.filter((_, i) => !fresh[i]);
      const oldBufs = old(bufs);
      if (oldBufs.length) {
        ops._foreach_mul_(oldBufs, momentum);
        ops._foreach_add_(oldBufs, old(grads), 1 - dampening);
        if (wd !== 0) ops._foreach_add_(oldBufs, old(params), (1 - dampening) * wd);
      }
      if (nesterov) {
        descend();
        ops._foreach_add_(params, bufs, -lr * momentum);
      } else {
        ops._foreach_add_(params, bufs, -lr);
      }
    });
  }
}
