import { describe, expect, it } from 'vitest';
import { liveTensors, manualSeed, nn, randn, type Tensor } from '../../../src/torch/index.js';

/** A layer that hands back its input object itself (as an identity or a no-op would). */
class PassThrough extends nn.Module implements nn.Layer {
  forward(x: Tensor): Tensor { return x; }
}

describe('Sequential', () => {
  it('releases its intermediates as it goes, never its input or its output, and backward still has what it needs', () => {
    manualSeed(0);
    const net = new nn.Sequential(new nn.Linear(4, 8), new PassThrough(), new nn.ReLU(), new nn.Linear(8, 2), new PassThrough());
    const x = randn([3, 4], { requiresGrad: true });
    const live = liveTensors();
    const y = net.forward(x);
    // Only the output's handle is new: the two intermediates' handles are gone.
    expect(liveTensors()).toBe(live + 1);
    expect(x.isDisposed).toBe(false);
    y.sum().backward();
    const first = net.layers[0] as nn.Linear;
    expect(first.weight.grad?.shape).toEqual([8, 4]);
    expect(x.grad?.shape).toEqual([3, 4]);
    // The same sums as a forward that keeps every intermediate.
    const h = first.forward(x).relu();
    const ref = (net.layers[3] as nn.Linear).forward(h);
    expect(Array.from(y.toArray())).toEqual(Array.from(ref.toArray()));
  });
});
