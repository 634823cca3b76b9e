import { describe, expect, it } from 'vitest';
import { liveTensors, manualSeed, nn, noGrad, randn } from '../../../src/torch/index.js';

describe('ResNet18', () => {
  it('leaves no intermediate handle behind, with or without autograd (only the output is new)', () => {
    manualSeed(0);
    const net = new nn.ResNet18({ inChannels: 3, numClasses: 4 });
    const x = randn([2, 3, 32, 32]);
    const live = liveTensors();
    const y = noGrad(() => net.forward(x));
    expect(y.shape).toEqual([2, 4]);
    expect(liveTensors()).toBe(live + 1);
    y.dispose();
    const z = net.forward(x);
    expect(liveTensors()).toBe(live + 1);
    z.sum().backward();
    expect(net.conv1.weight.grad?.shape).toEqual([64, 3, 7, 7]);
  });
});
