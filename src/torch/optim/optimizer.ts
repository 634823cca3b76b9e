/**
 * Optimizer base: parameter groups with their own hyper-parameters, per-parameter state, and a
 * state dict for checkpoints. Steps run as a few `_foreach_` kernels per group rather than a JS
 * loop over parameters, so the optimizer costs a handful of native calls per step.
 */
import type { Tensor } from '../tensor.js';
import { keep, tidy } from '../scope.js';

export interface ParamGroup<H> { params: Tensor[]; hyper: H }
/** Either a flat parameter list or groups with per-group overrides (e.g. their own `lr`). */
export type ParamsArg<H> = Tensor[] | ({ params: Tensor[] } & Partial<H>)[];

export abstract class Optimizer<H extends { lr: number }> {
  readonly groups: ParamGroup<H>[];
  /** Per-parameter state tensors by state name (e.g. `momentum_buffer`). */
  protected readonly state = new Map<Tensor, Map<string, Tensor>>();
  /** Calls to step(). */
  stepCount = 0;

  constructor(params: ParamsArg<H>, defaults: H) {
    const groups = params.length > 0 && !isTensorList(params) ? (params as ({ params: Tensor[] } & Partial<H>)[]) : [{ params: params as Tensor[] }];
    this.groups = groups.map((g) => {
      const { params: ps, ...over } = g;
      const hyper = { ...defaults, ...over } as H;
      this.validate(hyper);
      return { params: ps, hyper };
    });
    const seen = new Set<Tensor>();
    for (const g of this.groups) for (const p of g.params) {
      if (seen.has(p)) throw new Error('optimizer: a parameter appears in more than one group');
      seen.add(p);
      if (!p.requiresGrad) throw new Error(`optimizer: parameter ${p.toString()} does not require grad`);
    }
  }

  protected abstract validate(h: H): void;
  /** Updates the parameters of one group from their gradients (gradient recording is off). */
  protected abstract stepGroup(group: ParamGroup<H>, params: Tensor[], grads: Tensor[]): void;

  /** Learning rate of every group. */
  get lrs(): number[] { return this.groups.map((g) => g.hyper.lr); }
  setLr(lr: number, group?: number): void {
    for (const [i, g] of this.groups.entries()) if (group === undefined || group === i) g.hyper.lr = lr;
  }

  /** Drops gradients (PyTorch's `zero_grad(set_to_none=True)`: cheaper than zero-filling). */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.grad = null;
  }

  step(): void {
    this.stepCount++;
    // Intermediates of the update are freed at once; state tensors are kept by stateOf.
    tidy(() => {
      for (const g of this.groups) {
        const params: Tensor[] = [];
        const grads: Tensor[] = [];
        for (const p of g.params) {
          const gr = p.grad;
          if (gr) { params.push(p); grads.push(gr); }
        }
        if (params.length) this.stepGroup(g, params, grads);
      }
    });
  }

  protected stateOf(p: Tensor, name: string, init: () => Tensor): Tensor {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = new Map()));
    let t = s.get(name);
    if (!t) s.set(name, (t = keep(init())));
    return t;
  }

  /** State tensors by `<group>.<param index>.<name>`, and the hyper-parameters, for checkpoints. */
  stateDict(): { tensors: Map<string, Tensor>; meta: { stepCount: number; groups: H[] } } {
    const tensors = new Map<string, Tensor>();
    this.groups.forEach((g, gi) => g.params.forEach((p, pi) => {
      for (const [name, t] of this.state.get(p) ?? []) tensors.set(`${gi}.${pi}.${name}`, t);
    }));
    return { tensors, meta: { stepCount: this.stepCount, groups: this.groups.map((g) => ({ ...g.hyper })) } };
  }

  loadStateDict(sd: { tensors: Map<string, Tensor>; meta: { stepCount: number; groups: H[] } }): void {
    if (sd.meta.groups.length !== this.groups.length) {
      throw new Error(`optimizer state has ${sd.meta.groups.length} parameter groups, this optimizer ${this.groups.length}`);
    }
    this.stepCount = sd.meta.stepCount;
    this.state.clear();
    this.groups.forEach((g, gi) => { Object.assign(g.hyper, sd.meta.groups[gi]); });
    for (const [key, t] of sd.tensors) {
      const [gi, pi, name] = key.split('.') as [string, string, string];
      const p = this.groups[Number(gi)]?.params[Number(pi)];
      if (!p) throw new Error(`optimizer state names parameter ${gi}.${pi}, which this optimizer does not have`);
      if (p.shape.join(',') !== t.shape.join(',')) throw new Error(`optimizer state ${key}: shape [${t.shape}] does not fit [${p.shape}]`);
      this.stateOf(p, name, () => t.clone());
    }
  }
}

function isTensorList(v: unknown[]): boolean {
  const first = v[0] as { params?: unknown };
  return first.params === undefined;
}
