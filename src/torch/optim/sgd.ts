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

  protected stepGroup(group: ParamGroup<SGDOptions>, params: Tensor[], grads: Tensor[]): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = group.hyper;
    noGrad(() => {
      let d = weightDecay !== 0 ? ops._foreach_add(grads, params, weightDecay) : grads;
      if (momentum !== 0) {
        const fresh = params.map((p) => !this.state.get(p)?.has('momentum_buffer'));
        const bufs = params.map((p, i) => this.stateOf(p, 'momentum_buffer', () => (d[i] as Tensor).detach().clone()));
        // A new buffer starts as the first gradient (no decay, no dampening), as in PyTorch.
        const old = bufs.filter((_, i) => !fresh[i]);
        if (old.length) {
          ops._foreach_mul_(old, momentum);
          ops._foreach_add_(old, d.filter((_, i) => !fresh[i]), 1 - dampening);
        }
        d = nesterov ? ops._foreach_add(d, bufs, momentum) : bufs;
      }
      ops._foreach_add_(params, d, -lr);
    });
  }
}
