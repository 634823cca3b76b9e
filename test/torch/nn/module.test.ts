import { describe, expect, it } from 'vitest';
import { liveTensors, manualSeed, nn, ops, optim, randn, type Tensor } from '../../../src/torch/index.js';

/** A convolution whose weight is also registered by its parent (a tied weight: one tensor, two names). */
class Tied extends nn.Module {
  readonly a = this.module('a', new nn.Conv2d(2, 4, 3));
  constructor() {
    super();
    this.param('shared', this.a.weight);
  }
  get tied(): Tensor { return this.tensor('shared'); }
}

describe('Module.to', () => {
  it('copies to the memory format, releases the old tensors, keeps ties, and leaves an optimizer made before it failing loudly', () => {
    manualSeed(0);
    const net = new Tied();
    const before = net.a.weight;
    const stale = new optim.SGD([before], { lr: 0.1 });
    const values = Array.from(before.toArray());
    const live = liveTensors();
    net.to({ memoryFormat: 'channels_last' });
    // Each moved 4-d tensor is a new one with channels_last strides and the same values...
    const w = net.a.weight;
    expect(w).not.toBe(before);
    expect([0, 1, 2, 3].map((d) => ops.stride(w, d))).toEqual([18, 1, 6, 2]);
    expect(Array.from(w.toArray())).toEqual(values);
    expect(w.requiresGrad).toBe(true);
    // ...shared as before; the old ones are released (no handle more than before the move).
    expect(net.tied).toBe(w);
    expect(before.isDisposed).toBe(true);
    expect(liveTensors()).toBe(live);
    const x = randn([1, 2, 5, 5]);
    net.a.forward(x).sum().backward();
    expect(() => stale.step()).toThrow(/after dispose/);
  });
  it('lists a tied parameter once in parameters() (so an optimizer takes the model whole) and under both names in the state dict', () => {
    const net = new Tied();
    expect(net.parameters()).toHaveLength(2);
    expect([...net.stateDict().keys()].sort()).toEqual(['a.bias', 'a.weight', 'shared']);
    const sgd = new optim.SGD(net.parameters(), { lr: 0.1 });
    net.a.forward(randn([1, 2, 5, 5])).sum().backward();
    const before = Array.from(net.tied.toArray());
    sgd.step();
    expect(Array.from(net.a.weight.toArray())).not.toEqual(before);
    expect(net.a.weight).toBe(net.tied);
  });
});
